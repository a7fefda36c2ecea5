/** `veilport probe`: which pipeline profiles this box can run, and why not the rest. */
import { probeProfiles, whyNot } from '../../media/probe.js';

export async function probeCommand(json: boolean): Promise<number> {
  const report = await probeProfiles();
  if (json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return report.best ? 0 : 1;
  }
  for (const s of report.profiles) {
    const mark = s.name === report.best ? '*' : s.usable ? '+' : '-';
    process.stdout.write(`${mark} ${s.name.padEnd(12)} ${s.title}\n    ${whyNot(s)}${s.usable ? (s.h265 ? ' (H.264 and H.265)' : ' (H.264 only)') : ''}\n`);
  }
  process.stdout.write(report.best ? `\nselected: ${report.best} (override with --profile NAME)\n` : '\nno usable profile: exports cannot run on this box\n');
  return report.best ? 0 : 1;
}
