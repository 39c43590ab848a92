import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/provision/provider.js';

const dir = mkdtempSync(join(tmpdir(), 'metamorph-provider-'));
const keyPath = join(dir, 'id_ed25519');
writeFileSync(keyPath, 'key');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EC2 = { provider: 'ec2', region: 'eu-west-1', sourceInstanceId: 'i-0123456789abcdef0', instanceType: 'm6i.large' };
const SSH = { provider: 'ssh', host: 'db2', username: 'root', privateKeyPath: keyPath };

function configError(config: unknown): { code: string; key: string; message: string } {
  try {
    createProvider(config);
  } catch (err) {
    return err as { code: string; key: string; message: string };
  }
  throw new Error(`accepted ${JSON.stringify(config)}`);
}

describe('createProvider', () => {
  it('makes each provider from a valid config', () => {
    expect(createProvider({ provider: 'local', baseDir: dir }).name).toBe('local');
    expect(createProvider({ provider: 'existing', dsn: 'mysql://root@127.0.0.1:3306/' }).name).toBe('existing');
    expect(createProvider(EC2).name).toBe('ec2');
    expect(createProvider(SSH).name).toBe('ssh');
  });

  it.each([
    [null, '(provision config)', 'must be an object'],
    [{}, 'provider', 'must be one of "local", "existing", "ec2", "ssh", got nothing'],
    [{ provider: 'gcp' }, 'provider', 'got "gcp"'],
    [{ provider: 'local' }, 'baseDir', 'required'],
    [{ provider: 'local', baseDir: dir, name: '../x' }, 'name', 'plain directory name'],
    [{ provider: 'local', baseDir: dir, prot: 3306 }, 'prot', 'unknown key'],
    [{ provider: 'local', baseDir: dir, port: 70000 }, 'port', 'from 1 to 65535'],
    [{ provider: 'local', baseDir: dir, appUser: { password: 'x' } }, 'appUser.user', 'required'],
    [{ provider: 'existing' }, 'dsn', 'required'],
    [{ provider: 'existing', dsn: 'postgres://h/d' }, 'dsn', 'must start with mysql://'],
    [{ ...EC2, region: undefined }, 'region', 'required'],
    [{ ...EC2, sourceInstanceId: 'web-1' }, 'sourceInstanceId', 'instance id like'],
    [{ ...EC2, instanceType: '' }, 'instanceType', 'non-empty string'],
    [{ ...EC2, securityGroupIds: 'sg-1' }, 'securityGroupIds', 'list of non-empty strings'],
    [{ ...EC2, noReboot: 'yes' }, 'noReboot', 'true or false'],
    [{ ...EC2, address: 'elastic' }, 'address', 'must be one of "private", "public"'],
    [{ ...EC2, pollIntervalMs: 0 }, 'pollIntervalMs', 'integer from 1'],
    [{ ...EC2, tags: { 'metamorph:role': 'x' } }, 'tags.metamorph:role', 'reserved'],
    [{ ...EC2, mysql: { pass: 'x' } }, 'mysql.pass', 'unknown key'],
    [{ ...SSH, privateKeyPath: undefined }, 'privateKeyPath', 'exactly one of privateKeyPath and password'],
    [{ ...SSH, password: 'x' }, 'privateKeyPath', 'exactly one of privateKeyPath and password'],
    [{ ...SSH, privateKeyPath: join(dir, 'missing') }, 'privateKeyPath', 'does not exist'],
    [{ ...SSH, username: undefined }, 'username', 'required'],
    [{ ...SSH, uploads: [{ local: keyPath, remote: '/tmp/k', mode: 755 }] }, 'uploads[0].mode', 'non-empty string'],
    [{ ...SSH, uploads: [{ local: keyPath, remote: '/tmp/k', mode: '0999' }] }, 'uploads[0].mode', 'octal string'],
    [{ ...SSH, uploads: [{ local: join(dir, 'nope'), remote: '/tmp/k' }] }, 'uploads[0].local', 'does not exist'],
    [{ ...SSH, setupCommands: 'apt-get upgrade' }, 'setupCommands', 'list of non-empty strings'],
    [{ ...SSH, mysql: { port: '3306' } }, 'mysql.port', 'integer from 1 to 65535'],
  ])('rejects %j naming %s', (config, key, why) => {
    const err = configError(config);
    expect(err.code).toBe('PROVISION_CONFIG_INVALID');
    expect(err.key).toBe(key);
    expect(err.message).toContain(`provision config: ${key}: `);
    expect(err.message).toContain(why);
  });

  it('does not echo a password given with a wrong type', () => {
    const err = configError({ provider: 'existing', dsn: 'mysql://u:hunter2@h/d', connectTimeoutMs: 'soon' });
    expect(err.key).toBe('connectTimeoutMs');
    expect(err.message).not.toContain('hunter2');
  });
});
