/**
 * A tiny stand-in for the GitHub REST API, for the action tests: the few issue and issue-comment endpoints the
 * action calls, in memory, on port 0, recording every call (method, path, body). Not a GitHub emulator: it
 * implements what `src/action/comments.ts` uses, with GitHub's status codes and Link-header pagination.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly body?: Record<string, unknown>;
}

export interface Comment {
  id: number;
  issue: number;
  body: string;
}

export interface Issue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
}

export interface GithubServer {
  readonly url: string;
  readonly calls: RecordedCall[];
  readonly comments: Comment[];
  readonly issues: Issue[];
  close(): Promise<void>;
}

const PAGE = 30;

/** Starts the server for repository `owner/repo`. */
export async function startGithubServer(owner: string, repo: string): Promise<GithubServer> {
  const calls: RecordedCall[] = [];
  const comments: Comment[] = [];
  const issues: Issue[] = [];
  let nextId = 1000;
  let nextNumber = 100;
  const base = `/repos/${owner}/${repo}`;

  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      calls.push({ method: req.method ?? '', path: url.pathname, ...(body ? { body } : {}) });
      const send = (status: number, data?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(data === undefined ? '' : JSON.stringify(data));
      };
      const list = (items: unknown[]) => {
        const perPage = Number(url.searchParams.get('per_page') ?? PAGE);
        const page = Number(url.searchParams.get('page') ?? 1);
        const slice = items.slice((page - 1) * perPage, page * perPage);
        const headers: Record<string, string> = {};
        if (page * perPage < items.length) {
          const next = new URL(url.toString());
          next.searchParams.set('page', String(page + 1));
          headers.link = `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"`;
        }
        send(200, slice, headers);
      };
      const p = url.pathname;
      let m: RegExpMatchArray | null;
      if ((m = p.match(new RegExp(`^${base}/issues/(\\d+)/comments$`)))) {
        const issue = Number(m[1]);
        if (req.method === 'GET') return list(comments.filter((c) => c.issue === issue));
        if (req.method === 'POST') {
          const c = { id: nextId++, issue, body: String(body?.body ?? '') };
          comments.push(c);
          return send(201, c);
        }
      }
      if ((m = p.match(new RegExp(`^${base}/issues/comments/(\\d+)$`)))) {
        const i = comments.findIndex((c) => c.id === Number(m![1]));
        if (i < 0) return send(404, { message: 'Not Found' });
        if (req.method === 'PATCH') {
          comments[i]!.body = String(body?.body ?? '');
          return send(200, comments[i]);
        }
        if (req.method === 'DELETE') {
          comments.splice(i, 1);
          return send(204);
        }
      }
      if (p === `${base}/issues`) {
        if (req.method === 'GET') {
          const state = url.searchParams.get('state') ?? 'open';
          return list(issues.filter((i) => state === 'all' || i.state === state));
        }
        if (req.method === 'POST') {
          const issue: Issue = { number: nextNumber++, title: String(body?.title ?? ''), body: String(body?.body ?? ''), state: 'open' };
          issues.push(issue);
          return send(201, issue);
        }
      }
      if ((m = p.match(new RegExp(`^${base}/issues/(\\d+)$`))) && req.method === 'PATCH') {
        const issue = issues.find((i) => i.number === Number(m![1]));
        if (!issue) return send(404, { message: 'Not Found' });
        if (typeof body?.title === 'string') issue.title = body.title;
        if (typeof body?.body === 'string') issue.body = body.body;
        if (body?.state === 'open' || body?.state === 'closed') issue.state = body.state;
        return send(200, issue);
      }
      send(404, { message: `not implemented here: ${req.method} ${p}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    comments,
    issues,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
