import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseProxyConfig } from '../../src/config/proxy-config.js';
import { findBinary } from '../harness/require-binaries.js';

// No Docker engine runs here: these tests check that docker-compose.yml, the proxy config it
// mounts, the Prometheus config and the Grafana provisioning agree with each other.

const ROOT = resolve(import.meta.dirname, '../..');

type Json = Record<string, unknown>;
interface PortSpec { published: number | null; target: number }
interface MountSpec { type: 'bind' | 'volume'; source: string; target: string }
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string } | string;
  command?: string | string[];
  ports?: (string | number | { target: number; published?: number | string })[];
  volumes?: (string | { type: string; source: string; target: string })[];
  depends_on?: string[] | Record<string, unknown>;
  environment?: Record<string, string> | string[];
}
interface Compose { version?: string; services: Record<string, Service>; volumes?: Record<string, unknown> }

function readYaml<T>(path: string): T {
  return parse(readFileSync(join(ROOT, path), 'utf8')) as T;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;
}

const compose = readYaml<Compose>('docker-compose.yml');
const proxyConfig = readJson<{
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  journal: { dir: string };
  metrics: { host: string; port: number };
  admin: { socket: string };
}>('docker/proxy.config.json');

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** Short syntax: [IP:][HOST:]CONTAINER[/PROTO]; long syntax: { target, published }. */
function ports(s: Service): PortSpec[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') return { target: Number(p.target), published: p.published === undefined ? null : Number(p.published) };
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.at(-1));
    return { target, published: parts.length > 1 ? Number(parts.at(-2)) : null };
  });
}

/** Short syntax: SOURCE:TARGET[:MODE], a bind mount when SOURCE is a path. */
function mounts(s: Service): MountSpec[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { type: v.type === 'bind' ? 'bind' : 'volume', source: v.source, target: v.target };
    const [source, target] = v.split(':');
    return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target };
  });
}

function dependsOn(s: Service): string[] {
  const d = s.depends_on ?? [];
  return Array.isArray(d) ? d : Object.keys(d);
}

function mountAt(s: Service, target: string): MountSpec | undefined {
  return mounts(s).find((m) => m.target === target);
}

/** The repo path a service sees at `containerPath` through its bind mounts, if any. */
function repoPathOf(s: Service, containerPath: string): string | undefined {
  for (const m of mounts(s)) {
    if (m.type !== 'bind') continue;
    const rel = posix.relative(m.target, containerPath);
    if (!rel.startsWith('..') && !posix.isAbsolute(rel)) return join(ROOT, m.source, rel);
  }
  return undefined;
}

function isUnder(path: string, dir: string): boolean {
  const rel = posix.relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !posix.isAbsolute(rel);
}

/** Leaf paths of nested objects: { a: { b: 1 } } -> ['a.b']. */
function dottedKeys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value as Json).flatMap(([k, v]) => dottedKeys(v, prefix ? `${prefix}.${k}` : k));
}

/** COPY sources of a Dockerfile, relative to the build context (multi-stage --from copies excluded). */
function dockerfileCopySources(text: string): string[] {
  return text.split('\n')
    .filter((line) => /^\s*(COPY|ADD)\s/i.test(line) && !/--from=/.test(line))
    .flatMap((line) => line.trim().split(/\s+/).slice(1).filter((arg) => !arg.startsWith('--')).slice(0, -1));
}

describe('docker-compose.yml', () => {
  it('uses the compose spec (no version key) and has every service of the rehearsal', () => {
    expect(compose.version).toBeUndefined();
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'mediawiki', 'mysql-new', 'mysql-old', 'prometheus', 'proxy']);
    expect(service('mysql-old').image).toBe('mysql:8.0');
    expect(service('mysql-new').image).toBe('mysql:8.0');
    expect(service('mediawiki').image).toBe('mediawiki:1.39');
  });

  it('mounts only files that exist in the repo, and only declared named volumes', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const m of mounts(s)) {
        if (m.type === 'bind') expect(existsSync(join(ROOT, m.source)), `${name} mounts missing ${m.source}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name} uses undeclared volume ${m.source}`).toContain(m.source);
      }
    }
  });

  it('builds the proxy from docker/Dockerfile, whose COPY sources exist', () => {
    const build = service('proxy').build;
    expect(typeof build === 'object' ? build : null).toMatchObject({ context: '.', dockerfile: 'docker/Dockerfile' });
    const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/cli.js"\]$/m);
    const sources = dockerfileCopySources(dockerfile);
    expect(sources).toContain('src');
    for (const source of sources) expect(existsSync(join(ROOT, source)), `Dockerfile copies missing ${source}`).toBe(true);
  });

  it('runs the proxy with the mounted docker/proxy.config.json', () => {
    const command = service('proxy').command;
    const args = Array.isArray(command) ? command : String(command).split(/\s+/);
    expect(args.slice(0, 2)).toEqual(['proxy', '--config']);
    expect(repoPathOf(service('proxy'), args[2])).toBe(join(ROOT, 'docker/proxy.config.json'));
  });
});

describe('docker/proxy.config.json against the compose file', () => {
  it('is accepted by the proxy config parser and binds all interfaces inside the container', () => {
    const parsed = parseProxyConfig(proxyConfig, '/');
    expect(parsed.listen).toEqual(proxyConfig.listen);
    expect(parsed.journal.dir).toBe(proxyConfig.journal.dir);
    // A loopback bind would be unreachable from the other containers and the published ports.
    expect(proxyConfig.listen.host).toBe('0.0.0.0');
    expect(proxyConfig.metrics.host).toBe('0.0.0.0');
  });

  it('publishes exactly the listen and metrics ports, on the same host ports', () => {
    const published = ports(service('proxy'));
    const expected = [proxyConfig.listen.port, proxyConfig.metrics.port].sort();
    expect(published.map((p) => p.target).sort()).toEqual(expected);
    expect(published.map((p) => p.published).sort()).toEqual(expected);
  });

  it('keeps the journal and the admin socket on a named volume', () => {
    const journal = mounts(service('proxy')).find((m) => m.source === 'journal');
    expect(journal?.type).toBe('volume');
    expect([proxyConfig.journal.dir, posix.dirname(proxyConfig.journal.dir)]).toContain(journal?.target);
    // The config mount is read-only: the socket needs a writable directory.
    expect(isUnder(proxyConfig.admin.socket, journal?.target as string)).toBe(true);
  });

  it('points upstream at a compose service listening on upstream.port, which the proxy waits for', () => {
    const upstream = service(proxyConfig.upstream.host);
    expect(ports(upstream).map((p) => p.target)).toContain(proxyConfig.upstream.port);
    expect(dependsOn(service('proxy'))).toContain(proxyConfig.upstream.host);
  });

  it('has mediawiki depend on the proxy, not on a database', () => {
    expect(dependsOn(service('mediawiki'))).toEqual(['proxy']);
  });

  it('uses the same key paths as the top-level proxy.config.json', () => {
    const topLevel = new Set(dottedKeys(readJson<Json>('proxy.config.json')));
    const missing = dottedKeys(proxyConfig).filter((key) => !topLevel.has(key));
    expect(missing, `keys of docker/proxy.config.json absent from proxy.config.json`).toEqual([]);
  });
});

describe('prometheus/prometheus.yml', () => {
  interface ScrapeConfig { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }
  const prometheus = readYaml<{ global: { scrape_interval: string }; scrape_configs: ScrapeConfig[] }>('prometheus/prometheus.yml');
  const targetsOf = (job: string) => prometheus.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((c) => c.targets);

  it('is mounted where the prometheus image reads it', () => {
    expect(mountAt(service('prometheus'), '/etc/prometheus/prometheus.yml')?.source).toBe('./prometheus/prometheus.yml');
    expect(ports(service('prometheus')).map((p) => p.target)).toContain(9090);
  });

  it('scrapes the proxy service on its metrics port every 5 s, and the replayer on 9465', () => {
    expect(prometheus.global.scrape_interval).toBe('5s');
    expect(targetsOf('metamorph-proxy')).toEqual([`proxy:${proxyConfig.metrics.port}`]);
    expect(prometheus.scrape_configs.find((c) => c.job_name === 'metamorph-proxy')?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(targetsOf('metamorph-replay')).toEqual(['replay:9465']);
  });

  it('passes promtool check config', () => {
    const promtool = findBinary('promtool');
    if (!promtool) {
      throw new Error('missing binary: promtool; run `bash scripts/install-deps.sh` (as root) or ' +
        'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus');
    }
    const run = spawnSync(promtool, ['check', 'config', 'prometheus/prometheus.yml'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  });
});

describe('grafana provisioning', () => {
  const grafana = service('grafana');

  it('mounts the provisioning and dashboards folders where Grafana reads them', () => {
    expect(mountAt(grafana, '/etc/grafana/provisioning')?.source).toBe('./grafana/provisioning');
    expect(mountAt(grafana, '/var/lib/grafana/dashboards')?.source).toBe('./grafana/dashboards');
  });

  it('has a datasource with uid prometheus at the prometheus service and port', () => {
    const file = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>('grafana/provisioning/datasources/prometheus.yml');
    const source = file.datasources.find((d) => d.uid === 'prometheus');
    expect(source?.type).toBe('prometheus');
    const url = new URL(source?.url ?? '');
    expect(Object.keys(compose.services)).toContain(url.hostname);
    expect(ports(service(url.hostname)).map((p) => String(p.target))).toContain(url.port);
  });

  it('has a dashboards provider reading the mounted dashboards folder, which holds metamorph.json', () => {
    const file = readYaml<{ providers: { type: string; options: { path: string } }[] }>('grafana/provisioning/dashboards/metamorph.yml');
    const provider = file.providers.find((p) => p.type === 'file');
    expect(provider?.options.path).toBe(mountAt(grafana, '/var/lib/grafana/dashboards')?.target);
    expect(repoPathOf(grafana, posix.join(provider?.options.path ?? '', 'metamorph.json'))).toBe(join(ROOT, 'grafana/dashboards/metamorph.json'));
  });

  it('sets a home dashboard path that resolves to a repo file', () => {
    const env = grafana.environment as Record<string, string>;
    const home = repoPathOf(grafana, env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
    expect(home && existsSync(home), `GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ${env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH}`).toBe(true);
  });
});
