// The shared store suite against the embedded in-memory store (nodes share one backend).
import { MemoryBackend, MemoryStore } from './memory-store.js';
import { storeSuite } from './store-suite.js';

storeSuite('memory', {
  fresh: () => {
    const backend = new MemoryBackend();
    return Promise.resolve({ node: () => Promise.resolve(new MemoryStore(backend)), close: () => Promise.resolve() });
  },
});
