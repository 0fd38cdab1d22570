// SASL/PLAIN (RFC 4616): one message "authzid NUL authcid NUL password". Kafka checks it against
// the listener's JAAS users (user_<name>="<password>" in
// listener.name.<listener>.plain.sasl.jaas.config); Brook also accepts a user's SCRAM credential
// (the password is salted with the stored salt and compared with the stored key), so one
// `brook user add` serves PLAIN and SCRAM clients alike.

import { timingSafeEqual } from 'node:crypto';
import { passwordMatches, type ScramCredentials } from '../scram.js';
import { SaslAuthenticationError, type SaslServerMechanism } from './mechanism.js';

export interface PlainUsers {
  /** JAAS users of the listener: name -> password. */
  readonly jaasUsers: ReadonlyMap<string, string>;
  readonly scram: Pick<ScramCredentials, 'get'>;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A user's password against the JAAS users (a JAAS user is never also checked as a SCRAM user),
 * else against their SCRAM credential. Shared by SASL/PLAIN and the HTTP side's Basic logins.
 */
export async function plainPasswordMatches(users: PlainUsers, user: string, password: string): Promise<boolean> {
  const jaas = users.jaasUsers.get(user);
  if (jaas !== undefined) return sameString(jaas, password);
  for (const mech of ['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const) {
    const cred = users.scram.get(user, mech);
    if (cred !== undefined) return passwordMatches(mech, cred, password);
  }
  return false;
}

export class PlainServer implements SaslServerMechanism {
  readonly mechanism = 'PLAIN';
  complete = false;
  principal = '';

  constructor(private readonly users: PlainUsers) {}

  async evaluate(token: Buffer): Promise<Buffer> {
    if (this.complete) throw new SaslAuthenticationError('PLAIN: a token after completion');
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) throw new SaslAuthenticationError(`Invalid SASL/PLAIN response: expected 3 tokens, got ${parts.length}`);
    const [authzid, user, password] = parts as [string, string, string];
    const fail = (reason: string, client = 'Authentication failed: Invalid username or password'): never => {
      throw new SaslAuthenticationError(reason, client);
    };
    if (user === '') fail('PLAIN: no user name', 'Authentication failed: username not specified');
    if (password === '') fail('PLAIN: no password', 'Authentication failed: password not specified');
    if (authzid !== '' && authzid !== user) {
      fail('PLAIN: authorization id differs from the user name', 'Authentication failed: Client requested an authorization id that is different from username');
    }
    if (!(await plainPasswordMatches(this.users, user, password))) fail(`PLAIN: invalid credentials for user ${user}`);
    this.principal = user;
    this.complete = true;
    return Buffer.alloc(0);
  }
}
