/** Temporal connections for the API (client) and the worker (native connection). */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalAddress, type Config } from '../config.js';
import { dataConverter } from './codec.js';

export async function connectClient(config: Config, encryptionKey: Buffer): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress(config) });
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(encryptionKey) });
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect({ address: temporalAddress(config) });
}
