// V8's code cache for the modules `brook` loads (node:module.enableCompileCache, Node 22.1+): a
// later start reads compiled code instead of compiling ~1 MB of JavaScript again. Imported first
// by main.ts. Older Node has no such API and compiles as before; NODE_DISABLE_COMPILE_CACHE=1
// turns it off, NODE_COMPILE_CACHE=dir moves it (default: the OS temp directory).

import * as module from 'node:module';

const enable = (module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
if (typeof enable === 'function') {
  try {
    enable();
  } catch {
    // A read-only or missing temp directory: start without the cache.
  }
}
