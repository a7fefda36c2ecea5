import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePipeline, encodePipeline, loadProfiles, parseProfile, requiredElements } from '../../src/media/profiles.js';
import { probeProfiles, selectProfile } from '../../src/media/probe.js';

const profiles = loadProfiles();
const byName = (n: string) => profiles.find((p) => p.name === n)!;

t.test('every platform has a profile, best first', async (t) => {
  t.same(profiles.map((p) => p.name), ['jetson', 'intel-va', 'intel-qsv', 'intel-vaapi', 'software']);
});

t.test('decode pipelines name the container, codec and platform elements', async (t) => {
  const spec = { file: '/srv/nvr/cam 7/10-00-00.mkv', container: 'mkv' as const, codec: 'h265' as const, width: 1920, height: 1080, scaleNeeded: false };
  t.equal(
    decodePipeline(byName('software'), spec),
    'filesrc location="/srv/nvr/cam 7/10-00-00.mkv" ! matroskademux ! h265parse ! avdec_h265 ! videoconvert ! video/x-raw,format=I420,width=1920,height=1080 ! appsink name=out sync=false max-buffers=2',
  );
  t.equal(
    decodePipeline(byName('jetson'), { ...spec, container: 'mp4', codec: 'h264', scaleNeeded: true, width: 1280, height: 720 }),
    'filesrc location="/srv/nvr/cam 7/10-00-00.mkv" ! qtdemux ! h264parse ! nvv4l2decoder ! nvvidconv ! nvvidconv ! video/x-raw,format=I420,width=1280,height=720 ! appsink name=out sync=false max-buffers=2',
  );
  t.match(decodePipeline(byName('intel-va'), { ...spec, container: 'ts', codec: 'h264' }), /tsdemux ! h264parse ! vah264dec ! vapostproc ! video\/x-raw,format=I420/);
});

t.test('quotes in file names cannot break out of the location', async (t) => {
  const spec = { file: '/a/"b" ! fakesink/c.mp4', container: 'mp4' as const, codec: 'h264' as const, width: 2, height: 2, scaleNeeded: false };
  t.match(decodePipeline(byName('software'), spec), /^filesrc location="\/a\/\\"b\\" ! fakesink\/c.mp4" ! qtdemux/);
});

t.test('encode pipelines fill named parameters and write fragmented MP4 to stdout', async (t) => {
  t.equal(
    encodePipeline(byName('software'), { bitrateKbps: 4354.6, gopFrames: 60 }),
    'appsrc name=in format=time is-live=false block=true max-bytes=33554432 ! videoconvert ! x264enc speed-preset=veryfast bitrate=4355 key-int-max=60 bframes=0 ! video/x-h264,profile=high ! h264parse ! mp4mux fragment-duration=1000 streamable=true ! fdsink fd=1 sync=false',
  );
  t.match(encodePipeline(byName('jetson'), { bitrateKbps: 4000, gopFrames: 50 }), /nvv4l2h264enc bitrate=4000000 iframeinterval=50/);
});

t.test('a profile file with a mistake is refused, naming the file and key', async (t) => {
  t.throws(() => parseProfile('x.json', { name: 'x', title: 't', rank: 1, decode: { h264: 'a' }, toRaw: 'b', scale: 'c', encode: 'x264enc bitrate={kbps}' }), { message: /x.json: "encode" uses unknown parameter \{kbps\}/ });
  t.throws(() => parseProfile('y.json', { name: 'y', title: 't', rank: 1, decode: { vp9: 'a' }, toRaw: 'b', scale: 'c', encode: 'd' }), { message: /y.json: "decode.vp9": unknown codec/ });
  const dir = t.testdir();
  writeFileSync(join(dir, 'bad.json'), '{ not json');
  t.throws(() => loadProfiles(dir), { message: /bad.json: not valid JSON/ });
});

t.test('probing finds the software profile usable here and says why the others are not', async (t) => {
  const report = await probeProfiles();
  t.equal(report.best, 'software');
  const sw = report.profiles.find((p) => p.name === 'software')!;
  t.ok(sw.usable && sw.h265, 'software decodes H.264 and H.265');
  const jetson = report.profiles.find((p) => p.name === 'jetson')!;
  t.notOk(jetson.usable);
  t.same([...jetson.missing].sort(), ['nvv4l2decoder', 'nvv4l2h264enc', 'nvvidconv']);
  t.same(requiredElements(byName('intel-va')), ['vapostproc', 'vah264enc', 'vah264dec']);
});

t.test('a profile whose elements exist but fail their test run is not usable', async (t) => {
  // An encode chain that cannot negotiate: its elements exist, the pipeline does not work.
  const broken = { ...byName('software'), name: 'broken', rank: 99, encode: 'videoconvert ! video/x-raw,format=GRAY8 ! x264enc' };
  const report = await probeProfiles([broken, byName('software')]);
  const b = report.profiles.find((p) => p.name === 'broken')!;
  t.notOk(b.usable);
  t.ok(b.failure, `failure explained: ${b.failure}`);
  t.equal(report.best, 'software');
});

t.test('forcing a profile that cannot run here fails with the reason', async (t) => {
  await t.rejects(selectProfile('jetson'), { code: 'PIPELINE_FAILED', message: /jetson: missing elements .*nvv4l2decoder/ });
  await t.rejects(selectProfile('nope'), { code: 'BAD_INPUT', message: /unknown profile "nope"/ });
  t.equal((await selectProfile('software')).profile.name, 'software');
});
