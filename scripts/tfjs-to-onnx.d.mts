// Types for scripts/tfjs-to-onnx.mjs, for the TypeScript tests that import it.
export const CONVERTER_VERSION: string;
export interface ConversionReport {
  tfOps: Record<string, number>;
  translated: Record<string, number>;
  optimised: Record<string, number>;
  outputs: { name: string; elemType: number; shape: number[] }[];
}
export interface ConversionMeta {
  docString?: string;
  graphName?: string;
  metadata?: [string, string][];
}
export function convertTfjsGraphModel(modelJson: unknown, readShard: (path: string) => Uint8Array, meta?: ConversionMeta): { bytes: Uint8Array; report: ConversionReport };
export function convertFiles(modelJsonPath: string, outPath: string, meta?: ConversionMeta): ConversionReport;
