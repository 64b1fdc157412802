/**
 * Where libpg-query's WebAssembly module is, inside and outside an ncc bundle.
 *
 * Inside the bundle the emscripten loader looks for `libpg-query.wasm` in `__dirname`, which an
 * ES module does not have. ncc's asset relocator recognises the `new URL(..., import.meta.url)`
 * below, copies the file next to the bundle and replaces the expression with the copy's path.
 * Keep this module small and free of newer syntax (`??`, `?.`): the relocator skips modules
 * its parser cannot read, and webpack's own URL-asset handling then corrupts the binary.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of `libpg-query.wasm` (the bundle's copy inside an ncc build). */
export function wasmPath(): string {
  const ref = String(
    new URL('../../node_modules/libpg-query/wasm/libpg-query.wasm', import.meta.url),
  );
  const wasm = ref.startsWith('file:') ? fileURLToPath(ref) : ref;
  if (!existsSync(wasm)) throw new Error('libpg-query.wasm not found at ' + wasm);
  return wasm;
}
