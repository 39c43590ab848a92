import { connect } from 'node:net';
import {
  CreateImageCommand, CreateTagsCommand, DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand,
  DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand, type Image, type Instance, type Tag,
} from '@aws-sdk/client-ec2';
import {
  objectAt, onlyKeys, optionalBoolean, optionalChoice, optionalInt, optionalPort, optionalString, optionalStringList,
  optionalText, requiredString, type Json,
} from './config-fields.js';
import { formatDsn, type Dsn } from './dsn.js';
import type { Provider, ProvisionOptions, Replica } from './provider.js';
import { ProvisionConfigError, ProvisionError, requireReplicaOf } from './provision-error.js';

export interface Ec2Config {
  provider: 'ec2';
  region: string;
  sourceInstanceId: string;
  instanceType: string;
  subnetId: string | undefined;
  securityGroupIds: string[] | undefined;
  keyName: string | undefined;
  /** false: EC2 reboots the source for a filesystem-consistent image (downtime!). */
  noReboot: boolean;
  /** undefined: metamorph-replica-<source>-<time>. */
  imageName: string | undefined;
  address: 'private' | 'public';
  /** On teardown, also deregister the image and delete its snapshots. */
  deregisterImage: boolean;
  tags: Record<string, string>;
  pollIntervalMs: number;
  imageTimeoutMs: number;
  instanceTimeoutMs: number;
  reachableTimeoutMs: number;
  /** The source's MySQL login: the replica is a copy of its disks. Host comes from the instance. */
  mysql: Omit<Dsn, 'host'>;
}

/** Resolves once a TCP connection to host:port opens, rejects otherwise (within timeoutMs). */
export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<void>;

export interface Ec2Deps {
  client?: EC2Client;
  probe?: TcpProbe;
}

const KEYS = ['provider', 'region', 'sourceInstanceId', 'instanceType', 'subnetId', 'securityGroupIds', 'keyName', 'noReboot',
  'imageName', 'address', 'deregisterImage', 'tags', 'pollIntervalMs', 'imageTimeoutMs', 'instanceTimeoutMs', 'reachableTimeoutMs', 'mysql'];
const MYSQL_KEYS = ['port', 'user', 'password', 'database'];
const PROBE_ATTEMPT_MS = 5000;
const HOUR_MS = 3_600_000;

export function parseEc2Config(raw: Json): Ec2Config {
  onlyKeys(raw, KEYS);
  const sourceInstanceId = requiredString(raw, 'sourceInstanceId', '', 'i-0123456789abcdef0');
  if (!/^i-[0-9a-f]{8,17}$/.test(sourceInstanceId)) {
    throw new ProvisionConfigError('sourceInstanceId', `must be an instance id like "i-0123456789abcdef0", got ${JSON.stringify(sourceInstanceId)}`);
  }
  const mysql = objectAt(raw.mysql ?? {}, 'mysql');
  onlyKeys(mysql, MYSQL_KEYS, 'mysql.');
  return {
    provider: 'ec2',
    region: requiredString(raw, 'region', '', 'eu-west-1'),
    sourceInstanceId,
    instanceType: requiredString(raw, 'instanceType', '', 'm6i.large'),
    subnetId: optionalString(raw, 'subnetId'),
    securityGroupIds: optionalStringList(raw, 'securityGroupIds'),
    keyName: optionalString(raw, 'keyName'),
    noReboot: optionalBoolean(raw, 'noReboot') ?? true,
    imageName: optionalString(raw, 'imageName'),
    address: optionalChoice(raw, 'address', ['private', 'public'] as const) ?? 'private',
    deregisterImage: optionalBoolean(raw, 'deregisterImage') ?? false,
    tags: parseTags(raw.tags),
    pollIntervalMs: optionalInt(raw, 'pollIntervalMs', 1, HOUR_MS) ?? 15_000,
    imageTimeoutMs: optionalInt(raw, 'imageTimeoutMs', 1, 24 * HOUR_MS) ?? 2 * HOUR_MS,
    instanceTimeoutMs: optionalInt(raw, 'instanceTimeoutMs', 1, 24 * HOUR_MS) ?? 600_000,
    reachableTimeoutMs: optionalInt(raw, 'reachableTimeoutMs', 1, 24 * HOUR_MS) ?? 600_000,
    mysql: {
      port: optionalPort(mysql, 'port', 'mysql.') ?? 3306,
      user: optionalString(mysql, 'user', 'mysql.') ?? 'root',
      password: optionalText(mysql, 'password', 'mysql.') ?? '',
      database: optionalString(mysql, 'database', 'mysql.') ?? null,
    },
  };
}

function parseTags(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const raw = objectAt(value, 'tags');
  for (const [key, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new ProvisionConfigError(`tags.${key}`, 'must be a string');
    if (key.startsWith('metamorph:')) throw new ProvisionConfigError(`tags.${key}`, 'the metamorph: prefix is reserved for the tags metamorph sets');
  }
  return raw as Record<string, string>;
}

/**
 * The replica as a copy of the source's EC2 instance: image it, launch the image, wait until the
 * launched instance runs and its MySQL port answers. Stateless: teardown works from the replica's details.
 */
export function createEc2Provider(config: Ec2Config, deps: Ec2Deps = {}): Provider {
  const client = deps.client ?? new EC2Client({ region: config.region });
  const probe = deps.probe ?? tcpProbe;
  return {
    name: 'ec2',
    provision: (opts = {}) => provisionEc2(config, client, probe, opts),
    async teardown(replica: Replica): Promise<void> {
      requireReplicaOf(replica, 'ec2');
      const { instanceId, imageId, snapshotIds } = replica.details;
      if (typeof instanceId !== 'string' || typeof imageId !== 'string' || !Array.isArray(snapshotIds)) {
        throw new ProvisionError('EC2_BAD_REPLICA', `replica details need instanceId, imageId and snapshotIds, got ${JSON.stringify(replica.details)}`);
      }
      await aws('TerminateInstances', () => client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
      if (!config.deregisterImage) return;
      await aws('DeregisterImage', () => client.send(new DeregisterImageCommand({ ImageId: imageId })), `instance ${instanceId} is terminating`);
      for (const snapshotId of snapshotIds as string[]) {
        await aws('DeleteSnapshot', () => client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })), `image ${imageId} is deregistered`);
      }
    },
  };
}

async function provisionEc2(config: Ec2Config, client: EC2Client, probe: TcpProbe, opts: ProvisionOptions): Promise<Replica> {
  const say = opts.onProgress ?? (() => {});
  const source = config.sourceInstanceId;
  const name = config.imageName ?? `metamorph-replica-${source}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const created = await aws('CreateImage', () => client.send(new CreateImageCommand({
    InstanceId: source, Name: name, NoReboot: config.noReboot, Description: `metamorph replica of ${source}`,
  })));
  const imageId = created.ImageId;
  if (!imageId) throw new ProvisionError('EC2_CREATE_IMAGE_FAILED', `CreateImage of ${source} returned no image id: retry`);
  say(`image ${imageId} of ${source} requested (NoReboot ${config.noReboot})`);

  const image = await waitForImage(config, client, imageId, say);
  const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
  await aws('CreateTags', () => client.send(new CreateTagsCommand({
    Resources: [imageId, ...snapshotIds], Tags: tagsFor(config, 'replica-image'),
  })), `image ${imageId} is available but untagged`);

  const keep = `image ${imageId} is kept (deregister it with \`aws ec2 deregister-image --image-id ${imageId}\` if you give up)`;
  const launched = await aws('RunInstances', () => client.send(new RunInstancesCommand({
    ImageId: imageId,
    InstanceType: config.instanceType as RunInstancesCommand['input']['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    ...(config.subnetId && { SubnetId: config.subnetId }),
    ...(config.securityGroupIds && { SecurityGroupIds: config.securityGroupIds }),
    ...(config.keyName && { KeyName: config.keyName }),
  })), `check instanceType, subnetId, securityGroupIds, keyName and your instance quota; ${keep}`);
  const instanceId = launched.Instances?.[0]?.InstanceId;
  if (!instanceId) throw new ProvisionError('EC2_RUN_INSTANCES_FAILED', `RunInstances from ${imageId} returned no instance id; ${keep}`);
  say(`instance ${instanceId} launched from ${imageId}`);

  const instance = await waitForRunning(config, client, instanceId, say);
  await aws('CreateTags', () => client.send(new CreateTagsCommand({
    Resources: [instanceId], Tags: tagsFor(config, 'replica'),
  })), `instance ${instanceId} is running but untagged`);

  const host = config.address === 'private' ? instance.PrivateIpAddress : instance.PublicIpAddress;
  if (!host) {
    throw new ProvisionError('EC2_NO_ADDRESS', `instance ${instanceId} has no ${config.address} IP address: use "address": "${config.address === 'private' ? 'public' : 'private'}", or launch into a subnet that assigns one`);
  }
  await waitReachable(config, probe, instanceId, host, say);
  const dsn: Dsn = { ...config.mysql, host };
  return {
    dsn: formatDsn(dsn),
    host,
    port: dsn.port,
    provider: 'ec2',
    details: {
      region: config.region, sourceInstanceId: source, imageId, snapshotIds, instanceId,
      privateIp: instance.PrivateIpAddress ?? null, publicIp: instance.PublicIpAddress ?? null,
    },
  };
}

const IMAGE_FAILED_STATES = ['failed', 'invalid', 'error', 'deregistered', 'disabled'];

async function waitForImage(config: Ec2Config, client: EC2Client, imageId: string, say: (m: string) => void): Promise<Image> {
  return poll<Image>(config.pollIntervalMs, config.imageTimeoutMs, say, `image ${imageId}`, async () => {
    const out = await awsUnlessNotFound('DescribeImages', () => client.send(new DescribeImagesCommand({ ImageIds: [imageId] })), 'InvalidAMIID.NotFound');
    const image = out?.Images?.[0];
    if (!image) return { state: 'not visible yet' };
    if (image.State === 'available') return { state: 'available', done: true, value: image };
    if (IMAGE_FAILED_STATES.includes(image.State ?? '')) {
      throw new ProvisionError('EC2_IMAGE_FAILED', `image ${imageId} of ${config.sourceInstanceId} ended in state ${image.State}${reason(image.StateReason)}: check the source instance's volumes (and your snapshot quota), deregister ${imageId}, and provision again`);
    }
    return { state: image.State ?? 'unknown' };
  }, (last, seconds) => new ProvisionError('EC2_IMAGE_TIMEOUT', `image ${imageId} of ${config.sourceInstanceId} was not available within ${seconds} s (last state: ${last}): big volumes take long; raise imageTimeoutMs, or wait for it in the console and provision again`));
}

const INSTANCE_DEAD_STATES = ['shutting-down', 'terminated', 'stopping', 'stopped'];

async function waitForRunning(config: Ec2Config, client: EC2Client, instanceId: string, say: (m: string) => void): Promise<Instance> {
  return poll<Instance>(config.pollIntervalMs, config.instanceTimeoutMs, say, `instance ${instanceId}`, async () => {
    const out = await awsUnlessNotFound('DescribeInstances', () => client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })), 'InvalidInstanceID.NotFound');
    const instance = out?.Reservations?.[0]?.Instances?.[0];
    if (!instance) return { state: 'not visible yet' };
    const state = instance.State?.Name ?? 'unknown';
    if (state === 'running') return { state, done: true, value: instance };
    if (INSTANCE_DEAD_STATES.includes(state)) {
      throw new ProvisionError('EC2_INSTANCE_TERMINATED', `instance ${instanceId} went ${state} while we waited for running${reason(instance.StateReason)}: look at its console output and the image's volumes, then provision again`);
    }
    return { state };
  }, (last, seconds) => new ProvisionError('EC2_INSTANCE_TIMEOUT', `instance ${instanceId} never reached running within ${seconds} s (last state: ${last}): it is left as it is; check it in the console, terminate it (\`aws ec2 terminate-instances --instance-ids ${instanceId}\`) and provision again, or raise instanceTimeoutMs`));
}

async function waitReachable(config: Ec2Config, probe: TcpProbe, instanceId: string, host: string, say: (m: string) => void): Promise<void> {
  const port = config.mysql.port;
  let lastError = '';
  await poll<void>(config.pollIntervalMs, config.reachableTimeoutMs, say, `MySQL on ${host}:${port}`, async () => {
    try {
      await probe(host, port, Math.min(PROBE_ATTEMPT_MS, config.reachableTimeoutMs));
      return { state: 'reachable', done: true, value: undefined };
    } catch (err) {
      lastError = (err as Error).message;
      return { state: 'not reachable yet' };
    }
  }, (_last, seconds) => new ProvisionError('EC2_REPLICA_UNREACHABLE', `instance ${instanceId} is running but ${host}:${port} did not accept a connection within ${seconds} s (${lastError}): check that its security group lets this machine reach port ${port}, that mysqld starts at boot, and (for "address": "private") that this machine is in the VPC`));
}

type Poll<T> = { state: string; done: true; value: T } | { state: string; done?: false };

/** Calls check every intervalMs until it yields a value; logs state changes; onTimeout builds the error. */
async function poll<T>(intervalMs: number, timeoutMs: number, say: (m: string) => void, what: string,
  check: () => Promise<Poll<T>>, onTimeout: (lastState: string, seconds: number) => Error): Promise<T> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const result = await check();
    if (result.state !== last) say(`${what}: ${result.state}`);
    last = result.state;
    if (result.done) return result.value;
    if (Date.now() - started + intervalMs > timeoutMs) throw onTimeout(last, Math.round(timeoutMs / 100) / 10);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** One EC2 call; its failure becomes EC2_<ACTION>_FAILED naming the action, AWS's reason and what to do. */
async function aws<T>(action: string, call: () => Promise<T>, context = ''): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw awsFailure(action, err as Error, context);
  }
}

/** A Describe call right after a Create may not see the new resource yet (EC2 is eventually consistent). */
async function awsUnlessNotFound<T>(action: string, call: () => Promise<T>, notFound: string): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if ((err as Error).name === notFound) return undefined;
    throw awsFailure(action, err as Error, '');
  }
}

function awsFailure(action: string, err: Error, context: string): ProvisionError {
  const denied = /UnauthorizedOperation|AccessDenied/.test(err.name)
    ? `these credentials lack ec2:${action} (see the IAM list in README, Provisioning); `
    : '';
  const code = `EC2_${action.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}_FAILED`;
  return new ProvisionError(code, `EC2 ${action} failed: ${err.name}: ${err.message}; ${denied}${context || 'fix the cause and provision again'}`);
}

function tagsFor(config: Ec2Config, role: string): Tag[] {
  const tags: Record<string, string> = { ...config.tags, 'metamorph:role': role, 'metamorph:source': config.sourceInstanceId };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function reason(stateReason: { Message?: string; Code?: string } | undefined): string {
  const text = stateReason?.Message ?? stateReason?.Code;
  return text ? ` (reason: ${text})` : '';
}

export const tcpProbe: TcpProbe = (host, port, timeoutMs) => new Promise((resolve, reject) => {
  const socket = connect({ host, port, timeout: timeoutMs });
  socket.once('connect', () => {
    socket.destroy();
    resolve();
  });
  socket.once('timeout', () => {
    socket.destroy();
    reject(new Error(`no answer within ${timeoutMs} ms`));
  });
  socket.once('error', (err) => reject(err));
});
