import { PathSegment } from '../drift/compare';
import {
  FieldOwner,
  ManagedFieldsEntry,
  readOwnership,
} from '../drift/fieldOwners';

/** The owner of one field, as a drift check reads it (`readOwnership` asked for that path alone). */
export async function fieldOwner(
  managedFields: ManagedFieldsEntry[] | undefined,
  segments: PathSegment[],
): Promise<FieldOwner | undefined> {
  const read = await readOwnership(managedFields, { paths: [segments] });
  if ('notRead' in read) throw new Error('the field ownership was not read');
  return read.owners[0];
}
