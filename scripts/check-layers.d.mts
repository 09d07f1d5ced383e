// Types of scripts/check-layers.mjs (plain JavaScript so it runs before anything is built), for its test.
export interface LayerException {
  from: string;
  to: string;
  reason: string;
}
export interface KnownFileCycle {
  files: string[];
  reason: string;
}
export const TEMPORARY_EXCEPTIONS: LayerException[];
export const KNOWN_FILE_CYCLES: KnownFileCycle[];
export function readImports(source: string): string[];
export function resolveImport(fromFile: string, specifier: string, knownFiles: Set<string>): string | undefined;
export function folderOf(file: string): string;
export function parseLayerTable(markdown: string): Map<string, number>;
export function cycles(nodes: Iterable<string>, edgesOf: (node: string) => Iterable<string>): string[][];
export function checkLayers(input: {
  files: Map<string, string>;
  layers: Map<string, number>;
  exceptions?: LayerException[];
  knownFileCycles?: KnownFileCycle[];
}): { problems: string[]; imports: number };
export function checkRepository(root?: string): boolean;
