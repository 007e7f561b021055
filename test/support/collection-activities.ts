/**
 * The collection activities of a request, read from Temporal's own history: alone
 * (accessCollection, eraseCollection) or in batches (runCollections), with the collections each
 * carried (inputs decrypted with the harness's key).
 */
import proto from '@temporalio/proto';
import { EncryptionCodec, payloadKey } from '../../src/temporal/codec.js';
import type { Harness } from './harness.js';

const { EventType } = proto.temporal.api.enums.v1;
const COLLECTION_ACTIVITIES: Record<string, 'access' | 'erasure' | undefined> = { accessCollection: 'access', eraseCollection: 'erasure', runCollections: undefined };

export interface CollectionActivity {
  activity: string;
  phase: 'access' | 'erasure';
  /** Collection keys (dataset:collection). */
  collections: string[];
}

/** The request's history, and its collection activities by the id of their scheduled event. */
export async function collectionActivities(harness: Harness, id: string) {
  const history = await harness.handle(id).fetchHistory();
  const codec = new EncryptionCodec([payloadKey(harness.encryptionKey)]);
  const scheduled = new Map<string, CollectionActivity>();
  for (const event of history.events ?? []) {
    const attributes = event.activityTaskScheduledEventAttributes;
    const activity = attributes?.activityType?.name ?? '';
    if (event.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED || !(activity in COLLECTION_ACTIVITIES)) continue;
    const [payload] = await codec.decode(attributes!.input!.payloads!);
    const input = JSON.parse(Buffer.from(payload!.data!).toString()) as { collection: string } | { phase: 'access' | 'erasure'; steps: { collection: string }[] };
    scheduled.set(
      String(event.eventId),
      'steps' in input
        ? { activity, phase: input.phase, collections: input.steps.map((step) => step.collection) }
        : { activity, phase: COLLECTION_ACTIVITIES[activity]!, collections: [input.collection] },
    );
  }
  return { history, scheduled };
}
