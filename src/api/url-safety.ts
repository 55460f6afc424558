/**
 * Transport safety for the API URL, where the client meets it: `assertSafeApiUrl` (every URL, whoever chose it:
 * https everywhere, plain http only to loopback, no user:password@, no query or fragment) and
 * `assertAllowedApiUrl` (a URL that came from a manifest or a saved plan must also be an origin the operator
 * allows). The rules themselves live in `src/trust.ts` (pure, shared with `validate`); this module only turns
 * them into `InsecureUrlError`s. TLS certificates are always verified: nothing in the client sets
 * `rejectUnauthorized: false`.
 */
import { InsecureUrlError } from '../errors';
import { apiUrlShapeProblem, isLoopbackHost, manifestApiUrlProblem, type OperatorTrust } from '../trust';

export { isLoopbackHost };

/**
 * Parses and checks an API URL. Returns the parsed URL; throws InsecureUrlError for a malformed URL, a scheme
 * other than http(s), plain http to a non-loopback host, credentials embedded in the URL, or a query string
 * or fragment.
 */
export function assertSafeApiUrl(apiUrl: string): URL {
  const problem = apiUrlShapeProblem(apiUrl);
  if (problem) throw new InsecureUrlError(problem.message, { hint: problem.hint });
  return new URL(apiUrl);
}

/**
 * Checks an API URL that a manifest or a saved plan chose (`source` names it for the message, e.g.
 * `manifest.yaml apiUrl` or `plan file plan.json`): its shape, and that its origin is official, loopback, or
 * allowed by the operator (`trust`). A URL from `--api-url` or `SCALEFLEX_API_URL` needs only
 * `assertSafeApiUrl`. Returns the parsed URL.
 * @throws InsecureUrlError with the hint from `src/trust.ts`
 */
export function assertAllowedApiUrl(apiUrl: string, trust: OperatorTrust, source?: string): URL {
  const problem = manifestApiUrlProblem(apiUrl, trust);
  if (problem) throw new InsecureUrlError(source ? `${source}: ${problem.message}` : problem.message, { hint: problem.hint });
  return new URL(apiUrl);
}
