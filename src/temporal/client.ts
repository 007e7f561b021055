/** The Temporal client the API (and tests) use, with dsrflow's payload codec. */
import { Client, Connection } from '@temporalio/client';
import { temporalAddress, type Config } from '../config.js';
import { dataConverter } from './codec.js';

export async function connectClient(config: Config, encryptionKey: Buffer): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress(config) });
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(encryptionKey) });
}
