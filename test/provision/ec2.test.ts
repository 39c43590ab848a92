import { createServer, type Server } from 'node:net';
import {
  CreateImageCommand, CreateTagsCommand, DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand,
  DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand,
  type DescribeImagesCommandOutput, type DescribeInstancesCommandOutput, type Image, type ImageState, type Instance,
  type InstanceStateName,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tcpProbe } from '../../src/provision/ec2.js';
import { createProvider, type Replica } from '../../src/provision/provider.js';
import { freePort } from '../harness/ports.js';

const ec2 = mockClient(EC2Client);

const SOURCE = 'i-0123456789abcdef0';
const IMAGE = 'ami-0aaaaaaaaaaaaaaaa';
const INSTANCE = 'i-0bbbbbbbbbbbbbbbb';
const SNAPSHOT = 'snap-0ccccccccccccccc';

const CONFIG = {
  provider: 'ec2',
  region: 'eu-west-1',
  sourceInstanceId: SOURCE,
  instanceType: 'm6i.large',
  subnetId: 'subnet-0123',
  securityGroupIds: ['sg-0123', 'sg-0456'],
  keyName: 'ops',
  tags: { team: 'wiki' },
  pollIntervalMs: 5,
  imageTimeoutMs: 300,
  instanceTimeoutMs: 300,
  reachableTimeoutMs: 300,
  mysql: { user: 'wiki', password: 'p@ss/word', database: 'wikidb' },
};

const probes: string[] = [];
const reachable = async (host: string, port: number) => { probes.push(`${host}:${port}`); };

function provider(overrides: Record<string, unknown> = {}, probe = reachable) {
  return createProvider({ ...CONFIG, ...overrides }, { ec2Client: new EC2Client({ region: 'eu-west-1' }), tcpProbe: probe });
}

/** The commands sent, in order, as [name, input]. */
function sent(): [string, unknown][] {
  return ec2.calls().map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: unknown };
    return [command.constructor.name.replace(/Command$/, ''), command.input];
  });
}

function image(state: ImageState, extra: Partial<Image> = {}): DescribeImagesCommandOutput {
  return { $metadata: {}, Images: [{ ImageId: IMAGE, State: state, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: SNAPSHOT } }], ...extra }] };
}

function instance(state: InstanceStateName, extra: Partial<Instance> = {}): DescribeInstancesCommandOutput {
  return { $metadata: {}, Reservations: [{ Instances: [{ InstanceId: INSTANCE, State: { Name: state }, PrivateIpAddress: '10.0.1.7', PublicIpAddress: '54.1.2.3', ...extra }] }] };
}

function happyPath(): void {
  ec2.on(CreateImageCommand).resolves({ ImageId: IMAGE });
  ec2.on(DescribeImagesCommand)
    .resolvesOnce(image('pending'))
    .resolvesOnce(image('pending'))
    .resolves(image('available'));
  ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: INSTANCE, State: { Name: 'pending' } }] });
  ec2.on(DescribeInstancesCommand)
    .resolvesOnce(instance('pending'))
    .resolves(instance('running'));
  ec2.on(CreateTagsCommand).resolves({});
}

beforeEach(() => {
  ec2.reset();
  probes.length = 0;
});

describe('ec2 provider: provision', () => {
  it('images the source, launches the image, waits, tags, and reports the private address', async () => {
    happyPath();
    const progress: string[] = [];
    const replica = await provider().provision({ onProgress: (m) => progress.push(m) });

    const tags = (role: string) => [
      { Key: 'team', Value: 'wiki' },
      { Key: 'metamorph:role', Value: role },
      { Key: 'metamorph:source', Value: SOURCE },
    ];
    expect(sent()).toEqual([
      ['CreateImage', { InstanceId: SOURCE, Name: expect.stringMatching(new RegExp(`^metamorph-replica-${SOURCE}-\\d{4}-\\d\\d-\\d\\dT[\\d-]+Z$`)), NoReboot: true, Description: `metamorph replica of ${SOURCE}` }],
      ['DescribeImages', { ImageIds: [IMAGE] }],
      ['DescribeImages', { ImageIds: [IMAGE] }],
      ['DescribeImages', { ImageIds: [IMAGE] }],
      ['CreateTags', { Resources: [IMAGE, SNAPSHOT], Tags: tags('replica-image') }],
      ['RunInstances', {
        ImageId: IMAGE, InstanceType: 'm6i.large', MinCount: 1, MaxCount: 1,
        SubnetId: 'subnet-0123', SecurityGroupIds: ['sg-0123', 'sg-0456'], KeyName: 'ops',
      }],
      ['DescribeInstances', { InstanceIds: [INSTANCE] }],
      ['DescribeInstances', { InstanceIds: [INSTANCE] }],
      ['CreateTags', { Resources: [INSTANCE], Tags: tags('replica') }],
    ]);
    expect(probes).toEqual(['10.0.1.7:3306']);
    expect(replica).toEqual({
      dsn: 'mysql://wiki:p%40ss%2Fword@10.0.1.7:3306/wikidb',
      host: '10.0.1.7',
      port: 3306,
      provider: 'ec2',
      details: {
        region: 'eu-west-1', sourceInstanceId: SOURCE, imageId: IMAGE, snapshotIds: [SNAPSHOT], instanceId: INSTANCE,
        privateIp: '10.0.1.7', publicIp: '54.1.2.3',
      },
    });
    expect(progress).toEqual([
      `image ${IMAGE} of ${SOURCE} requested (NoReboot true)`,
      `image ${IMAGE}: pending`,
      `image ${IMAGE}: available`,
      `instance ${INSTANCE} launched from ${IMAGE}`,
      `instance ${INSTANCE}: pending`,
      `instance ${INSTANCE}: running`,
      'MySQL on 10.0.1.7:3306: reachable',
    ]);
  });

  it('passes NoReboot false, an explicit image name, and uses the public address when configured', async () => {
    happyPath();
    const replica = await provider({ noReboot: false, imageName: 'wiki-upgrade-1', address: 'public', subnetId: undefined, securityGroupIds: undefined, keyName: undefined }).provision();
    const calls = sent();
    expect(calls[0]).toEqual(['CreateImage', { InstanceId: SOURCE, Name: 'wiki-upgrade-1', NoReboot: false, Description: `metamorph replica of ${SOURCE}` }]);
    expect(calls.find(([name]) => name === 'RunInstances')).toEqual(['RunInstances', { ImageId: IMAGE, InstanceType: 'm6i.large', MinCount: 1, MaxCount: 1 }]);
    expect(replica.host).toBe('54.1.2.3');
    expect(probes).toEqual(['54.1.2.3:3306']);
  });

  it('waits through "not found" right after creation (eventual consistency)', async () => {
    happyPath();
    const notFound = Object.assign(new Error('The image id does not exist'), { name: 'InvalidAMIID.NotFound' });
    ec2.on(DescribeImagesCommand).rejectsOnce(notFound).resolves(image('available'));
    const replica = await provider().provision();
    expect(replica.details.imageId).toBe(IMAGE);
    expect(sent().filter(([name]) => name === 'DescribeImages')).toHaveLength(2);
  });

  it('an image that ends "failed" stops before launching anything', async () => {
    happyPath();
    ec2.on(DescribeImagesCommand).resolvesOnce(image('pending'))
      .resolves(image('failed', { StateReason: { Code: 'Client.UnsupportedOperation', Message: 'snapshot failed' } }));
    const err = await provider().provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EC2_IMAGE_FAILED' });
    expect((err as Error).message).toContain(`image ${IMAGE} of ${SOURCE} ended in state failed (reason: snapshot failed)`);
    expect((err as Error).message).toContain('provision again');
    expect(sent().map(([name]) => name)).toEqual(['CreateImage', 'DescribeImages', 'DescribeImages']);
  });

  it('an image still pending after imageTimeoutMs is EC2_IMAGE_TIMEOUT', async () => {
    happyPath();
    ec2.on(DescribeImagesCommand).resolves(image('pending'));
    const started = Date.now();
    const err = await provider({ imageTimeoutMs: 100 }).provision().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({ code: 'EC2_IMAGE_TIMEOUT' });
    expect((err as Error).message).toContain('not available within 0.1 s (last state: pending)');
    expect((err as Error).message).toContain('imageTimeoutMs');
    expect(sent().some(([name]) => name === 'RunInstances')).toBe(false);
  });

  it('RunInstances throwing is EC2_RUN_INSTANCES_FAILED naming the cause and the kept image', async () => {
    happyPath();
    ec2.on(RunInstancesCommand).rejects(Object.assign(new Error('We currently do not have sufficient m6i.large capacity'), { name: 'InsufficientInstanceCapacity' }));
    const err = await provider().provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EC2_RUN_INSTANCES_FAILED' });
    expect((err as Error).message).toContain('EC2 RunInstances failed: InsufficientInstanceCapacity: We currently do not have sufficient m6i.large capacity');
    expect((err as Error).message).toContain(`image ${IMAGE} is kept`);
    expect(sent().map(([name]) => name)).toEqual(['CreateImage', 'DescribeImages', 'DescribeImages', 'DescribeImages', 'CreateTags', 'RunInstances']);
  });

  it('missing permissions name the IAM action', async () => {
    ec2.on(CreateImageCommand).rejects(Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' }));
    const err = await provider().provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EC2_CREATE_IMAGE_FAILED' });
    expect((err as Error).message).toContain('lack ec2:CreateImage');
  });

  it('an instance stuck pending is EC2_INSTANCE_TIMEOUT that says it was left running', async () => {
    happyPath();
    ec2.on(DescribeInstancesCommand).resolves(instance('pending'));
    const err = await provider({ instanceTimeoutMs: 100 }).provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EC2_INSTANCE_TIMEOUT' });
    expect((err as Error).message).toContain(`instance ${INSTANCE} never reached running within 0.1 s (last state: pending)`);
    expect((err as Error).message).toContain(`terminate-instances --instance-ids ${INSTANCE}`);
    expect(sent().filter(([name]) => name === 'CreateTags')).toHaveLength(1);
    expect(probes).toEqual([]);
  });

  it('an instance terminated while waiting is EC2_INSTANCE_TERMINATED with the reason', async () => {
    happyPath();
    ec2.on(DescribeInstancesCommand).resolvesOnce(instance('pending'))
      .resolves(instance('terminated', { StateReason: { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on launch' } }));
    const err = await provider().provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EC2_INSTANCE_TERMINATED' });
    expect((err as Error).message).toContain(`instance ${INSTANCE} went terminated while we waited for running (reason: Server.InternalError: Internal error on launch)`);
  });

  it('a running instance whose MySQL port never answers is EC2_REPLICA_UNREACHABLE', async () => {
    happyPath();
    let attempts = 0;
    const refused = async () => {
      attempts++;
      throw new Error('connect ECONNREFUSED 10.0.1.7:3306');
    };
    const err = await provider({ reachableTimeoutMs: 100 }, refused).provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EC2_REPLICA_UNREACHABLE' });
    expect((err as Error).message).toContain('10.0.1.7:3306 did not accept a connection within 0.1 s (connect ECONNREFUSED 10.0.1.7:3306)');
    expect((err as Error).message).toContain('security group');
    expect(attempts).toBeGreaterThan(1);
  });

  it('an instance without the configured address kind is EC2_NO_ADDRESS', async () => {
    happyPath();
    ec2.on(DescribeInstancesCommand).resolves(instance('running', { PublicIpAddress: undefined }));
    const err = await provider({ address: 'public' }).provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EC2_NO_ADDRESS' });
    expect((err as Error).message).toContain('"address": "private"');
  });
});

describe('ec2 provider: teardown', () => {
  const replica = (): Replica => ({
    dsn: 'mysql://wiki:x@10.0.1.7:3306/wikidb', host: '10.0.1.7', port: 3306, provider: 'ec2',
    details: { imageId: IMAGE, instanceId: INSTANCE, snapshotIds: [SNAPSHOT, 'snap-2'] },
  });

  it('terminates the instance and keeps the image by default', async () => {
    ec2.on(TerminateInstancesCommand).resolves({});
    await provider().teardown(replica());
    expect(sent()).toEqual([['TerminateInstances', { InstanceIds: [INSTANCE] }]]);
  });

  it('with deregisterImage also deregisters the image and deletes its snapshots', async () => {
    ec2.on(TerminateInstancesCommand).resolves({});
    ec2.on(DeregisterImageCommand).resolves({});
    ec2.on(DeleteSnapshotCommand).resolves({});
    await provider({ deregisterImage: true }).teardown(replica());
    expect(sent()).toEqual([
      ['TerminateInstances', { InstanceIds: [INSTANCE] }],
      ['DeregisterImage', { ImageId: IMAGE }],
      ['DeleteSnapshot', { SnapshotId: SNAPSHOT }],
      ['DeleteSnapshot', { SnapshotId: 'snap-2' }],
    ]);
  });

  it('refuses a replica of another provider, or one without the ids', async () => {
    await expect(provider().teardown({ ...replica(), provider: 'local' })).rejects.toMatchObject({ code: 'PROVISION_WRONG_PROVIDER' });
    await expect(provider().teardown({ ...replica(), details: {} })).rejects.toMatchObject({ code: 'EC2_BAD_REPLICA' });
    expect(sent()).toEqual([]);
  });
});

describe('tcpProbe', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('resolves when the port accepts a connection and rejects when it is refused', async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await expect(tcpProbe('127.0.0.1', port, 1000)).resolves.toBeUndefined();
    const closed = await freePort();
    await expect(tcpProbe('127.0.0.1', closed, 1000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
