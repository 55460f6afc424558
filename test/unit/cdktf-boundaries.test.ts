/**
 * The CDKTF front end's boundaries: only `src/cdktf/` imports cdktf, constructs or @cdktf/* (so a move to
 * CDK Terrain is a one-folder change and YAML users never load them), it is published as its own entry point,
 * and `cdktf.json` runs the same app as `npm run synth`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const CDKTF_IMPORT = /(?:from\s+|require\(\s*|import\(\s*)['"](cdktf|constructs|@cdktf\/[^'"]+)(?:\/[^'"]*)?['"]/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('the CDKTF boundary', () => {
  const files = sourceFiles(path.join(ROOT, 'src'));

  test('only src/cdktf/ imports cdktf, constructs or @cdktf/*', () => {
    const offenders = files
      .filter((f) => !f.startsWith(path.join(ROOT, 'src', 'cdktf') + path.sep))
      .filter((f) => [...fs.readFileSync(f, 'utf8').matchAll(CDKTF_IMPORT)].length > 0)
      .map((f) => path.relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  test('src/cdktf/ does import them (the scan above would notice)', () => {
    const importing = files.filter((f) => [...fs.readFileSync(f, 'utf8').matchAll(CDKTF_IMPORT)].length > 0);
    expect(importing.map((f) => path.relative(ROOT, f)).sort()).toEqual(
      ['src/cdktf/api-key.ts', 'src/cdktf/project.ts', 'src/cdktf/validation.ts'].map((p) => p.split('/').join(path.sep)),
    );
  });

  test('the constructs are published as the separate entry point scaleflex-keys/cdktf', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.exports['./cdktf']).toEqual({ types: './dist/cdktf/index.d.ts', default: './dist/cdktf/index.js' });
    for (const dep of ['cdktf', 'constructs', '@cdktf/provider-null']) expect(pkg.peerDependenciesMeta[dep]).toEqual({ optional: true });
  });

  test("cdktf.json's app is the command npm run synth runs", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const cdktfJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8'));
    expect(cdktfJson).toMatchObject({ language: 'typescript', output: 'cdktf.out' });
    expect(cdktfJson.app).toBe(pkg.scripts.synth);
  });
});
