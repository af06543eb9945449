// Every unit test gets an in-memory IndexedDB and an empty localStorage.
import 'fake-indexeddb/auto';
import { afterEach } from 'vitest';

afterEach(() => {
  localStorage.clear();
});
