/**
 * Test support for the emulator suites (not itself a test): a small HTTP caller over undici, and a checker
 * that validates every answer — status, body and headers — against `schemas/scaleflex-api.openapi.yaml`
 * (dereferenced by swagger-parser, compiled with ajv's 2020-12 dialect).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { Agent, request } from 'undici';
import { parse as parseYaml } from 'yaml';

export const OPENAPI_FILE = path.join(__dirname, '../../schemas/scaleflex-api.openapi.yaml');

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** Loads the OpenAPI document as plain data (the `yaml` package), unresolved. */
export function loadOpenApi(): any {
  return parseYaml(fs.readFileSync(OPENAPI_FILE, 'utf8'));
}

/** A fresh temp state dir; remove it with `removeDir`. */
export function tempStateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The OpenAPI path template an actual path belongs to. */
export function templateOf(p: string): string {
  const pathname = p.split('?')[0]!;
  if (pathname === '/keys' || pathname === '/keys/self' || pathname === '/keys/status') return pathname;
  if (/^\/keys\/[^/]+\/secret$/.test(pathname)) return '/keys/{uuid}/secret';
  if (/^\/keys\/[^/]+$/.test(pathname)) return '/keys/{uuid}';
  throw new Error(`no OpenAPI path for ${p}`);
}

/** Validates answers against the OpenAPI document. */
export class ContractChecker {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  /** method template status -> how many answers were checked (to assert coverage). */
  readonly seen = new Map<string, number>();

  private constructor(readonly doc: any) {
    addFormats(this.ajv);
  }

  static async load(): Promise<ContractChecker> {
    const doc = await SwaggerParser.dereference(loadOpenApi());
    return new ContractChecker(doc);
  }

  /** The request-body validator the document gives for `method template`. */
  requestValidator(method: string, template: string): ValidateFunction {
    const key = `request ${method.toUpperCase()} ${template}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      const schema = this.doc.paths[template]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
      if (!schema) throw new Error(`${method} ${template} has no JSON request body in the OpenAPI document`);
      validate = this.ajv.compile(schema);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** Throws unless `answer` is a documented answer of `method path`, with a valid body and headers. */
  check(method: string, p: string, answer: Answer): void {
    const template = templateOf(p);
    const op = this.doc.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`${method} ${template} is not in the OpenAPI document`);
    const response = op.responses[String(answer.status)];
    if (!response) {
      throw new Error(`${method} ${template} answered ${answer.status}, which the OpenAPI document does not list: ${JSON.stringify(answer.body)}`);
    }
    const key = `${method.toUpperCase()} ${template} ${answer.status}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(response.content['application/json'].schema);
      this.compiled.set(key, validate);
    }
    if (!validate(answer.body)) {
      throw new Error(`${key}: body does not match the schema: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(answer.body)}`);
    }
    for (const [name, header] of Object.entries<any>(response.headers ?? {})) {
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) throw new Error(`${key}: required header ${name} is missing`);
        continue;
      }
      if (header.schema?.type === 'integer') {
        if (!/^\d+$/.test(value)) throw new Error(`${key}: header ${name} is "${value}", not an integer`);
        if (header.schema.minimum !== undefined && Number(value) < header.schema.minimum) throw new Error(`${key}: header ${name} below minimum`);
      } else if (header.schema?.minLength && value.length < header.schema.minLength) {
        throw new Error(`${key}: header ${name} is empty`);
      }
    }
    if (!String(answer.headers['content-type']).startsWith('application/json')) throw new Error(`${key}: not JSON`);
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
  }
}

/** Calls one project of an emulator; optionally checks every answer against the contract. */
export class ProjectClient {
  constructor(
    readonly base: string,
    readonly dispatcher: Agent,
    readonly checker?: ContractChecker,
  ) {}

  async call(
    method: string,
    p: string,
    opts: { key?: string | undefined; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key !== undefined) headers['x-filerobot-key'] = opts.key;
    let body: string | Buffer | undefined = opts.raw;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await request(`${this.base}${p}`, { method: method as any, headers, body, dispatcher: this.dispatcher });
    const text = await res.body.text();
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) flat[k] = Array.isArray(v) ? v.join(', ') : String(v);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    const answer = { status: res.statusCode, headers: flat, body: parsed };
    this.checker?.check(method, p, answer);
    return answer;
  }
}

/** An undici Agent that does not retry or pipeline, so each request maps to what the server did. */
export function newAgent(): Agent {
  return new Agent({ keepAliveTimeout: 1000, connections: 32 });
}
