/**
 * Types for the two undici files the transport loads one by one (see transport.ts for why): the same classes
 * and functions undici's index exports, typed from its own declarations.
 */
declare module 'undici/lib/dispatcher/agent' {
  import { Agent } from 'undici';
  export = Agent;
}

declare module 'undici/lib/interceptor/retry' {
  import { interceptors } from 'undici';
  const retry: typeof interceptors.retry;
  export = retry;
}
