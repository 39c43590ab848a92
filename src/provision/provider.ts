import type { EC2Client } from '@aws-sdk/client-ec2';
import { objectAt, type Json } from './config-fields.js';
import { createEc2Provider, parseEc2Config, type Ec2Config, type TcpProbe } from './ec2.js';
import { createExistingProvider, parseExistingConfig, type ExistingConfig } from './existing.js';
import { createLocalProvider, parseLocalConfig, type LocalConfig } from './local.js';
import { ProvisionConfigError } from './provision-error.js';
import { createSshProvider, parseSshConfig, type SshConfig } from './ssh.js';

export type ProviderName = 'local' | 'existing' | 'ec2' | 'ssh';

/** The parallel universe's database, as a provider made or designated it. */
export interface Replica {
  /** mysql://user:pass@host:port/db; holds the password: print it with redactDsn. */
  dsn: string;
  host: string;
  port: number;
  provider: ProviderName;
  /** What teardown needs (pid, instance id, ...) and what an operator wants to see. JSON-safe. */
  details: Record<string, unknown>;
}

export interface ProvisionOptions {
  /** One line per step (e.g. "image ami-0abc: pending"). */
  onProgress?: (message: string) => void;
  /** Output of remote commands as it arrives (ssh). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
}

export interface Provider {
  readonly name: ProviderName;
  provision(opts?: ProvisionOptions): Promise<Replica>;
  /** Undoes provision: stops/terminates/removes what it created. Safe to call twice. */
  teardown(replica: Replica): Promise<void>;
}

/**
 * Config shapes (JSON; every key is checked, an error names it):
 *
 *   { "provider": "local", "baseDir": "/var/lib/metamorph",   // the server goes to baseDir/name
 *     "name": "replica", "port": 3310 (default: a free port), "database": "wikidb",
 *     "appUser": { "user": "wiki", "password": "..." }, "readyTimeoutMs": 30000 }
 *
 *   { "provider": "existing", "dsn": "mysql://user:pass@host:3306/db", "connectTimeoutMs": 5000 }
 *
 *   { "provider": "ec2", "region": "eu-west-1", "sourceInstanceId": "i-0abc...", "instanceType": "m6i.large",
 *     "subnetId": "subnet-..", "securityGroupIds": ["sg-.."], "keyName": "ops", "noReboot": true,
 *     "imageName": "...", "address": "private" | "public", "deregisterImage": false,
 *     "tags": { "team": "wiki" }, "pollIntervalMs": 15000, "imageTimeoutMs": 7200000,
 *     "instanceTimeoutMs": 600000, "reachableTimeoutMs": 600000,
 *     "mysql": { "port": 3306, "user": "root", "password": "", "database": "wikidb" } }
 *
 *   { "provider": "ssh", "host": "db2.internal", "port": 22, "username": "root",
 *     "privateKeyPath": "~/.ssh/id_ed25519" | "password": "...", "hostKeySha256": "SHA256:...",
 *     "connectTimeoutMs": 20000, "commandTimeoutMs": 3600000,
 *     "uploads": [{ "local": "upgrade.sh", "remote": "/tmp/upgrade.sh", "mode": "0755" }],
 *     "setupCommands": ["..."], "upgradeCommand": "/tmp/upgrade.sh", "teardownCommand": "...",
 *     "mysql": { "host": "(default: host)", "port": 3306, "user": "root", "password": "", "database": "wikidb",
 *                "connectTimeoutMs": 5000 } }
 */
export type ProviderConfig = LocalConfig | ExistingConfig | Ec2Config | SshConfig;

/** Test seams for ec2: a (mocked) client and the reachability check. */
export interface ProviderDeps {
  ec2Client?: EC2Client;
  tcpProbe?: TcpProbe;
}

export function createProvider(config: unknown, deps: ProviderDeps = {}): Provider {
  const raw: Json = objectAt(config, '(provision config)');
  switch (raw.provider) {
    case 'local':
      return createLocalProvider(parseLocalConfig(raw));
    case 'existing':
      return createExistingProvider(parseExistingConfig(raw));
    case 'ec2':
      return createEc2Provider(parseEc2Config(raw), { client: deps.ec2Client, probe: deps.tcpProbe });
    case 'ssh':
      return createSshProvider(parseSshConfig(raw));
    default:
      throw new ProvisionConfigError('provider', `must be one of "local", "existing", "ec2", "ssh", got ${JSON.stringify(raw.provider) ?? 'nothing'}`);
  }
}
