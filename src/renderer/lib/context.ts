import { createContext } from 'svelte';
import type { ApiClient } from './api-client';
import type { Connection } from './connection.svelte';
import type { CoreEventStream } from './core-events';
import type { Router } from './router.svelte';

/** The services every view may use, set once by App.svelte. */
export interface AppServices {
  readonly api: ApiClient;
  readonly connection: Connection;
  readonly router: Router;
  readonly events: CoreEventStream;
}

/** Typed access to {@link AppServices} from any component below App. */
export const [getServices, setServices] = createContext<AppServices>();
