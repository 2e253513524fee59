// A Kubernetes store of the test's own process on the fake API, for tests that need the store
// itself (two writers on one clock, a fleet of puts): closed when the test ends.
import type { Test } from 'tap';
import { parseExporterConfig } from '../../exporter/config.js';
import type { Store } from '../../exporter/store/store.js';
import { stores } from '../../exporter/store/stores.js';
import { systemClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/log.js';
import { type FakeKube, storeArgs } from './fake-kube.js';

export async function openKubeStore(t: Test, kube: FakeKube, extra: readonly string[] = []): Promise<Store> {
  const parsed = parseExporterConfig([...storeArgs(kube), ...extra]);
  if (!parsed.ok || parsed.help) throw new Error(parsed.ok ? 'help' : parsed.error);
  const open = stores.kubernetes;
  if (!open) throw new Error('no kubernetes store');
  const store = await open({ ...parsed.config, clock: systemClock, log: createLogger('error'), onError: () => {} });
  t.teardown(() => store.close());
  return store;
}
