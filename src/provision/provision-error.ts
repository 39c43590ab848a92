/** Every provisioning failure: `code` is stable for callers, the message names the cause and what to do. */
export class ProvisionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** A config key that is missing or wrong; `key` is its path, e.g. `mysql.port`. */
export class ProvisionConfigError extends ProvisionError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super('PROVISION_CONFIG_INVALID', `provision config: ${key}: ${message}`);
    this.name = 'ProvisionConfigError';
  }
}

/** Teardown is given the replica back: refuse one that another provider made. */
export function requireReplicaOf(replica: { provider: string }, provider: string): void {
  if (replica.provider !== provider) {
    throw new ProvisionError('PROVISION_WRONG_PROVIDER', `the ${provider} provider cannot tear down a replica made by ${JSON.stringify(replica.provider)}: use that provider`);
  }
}
