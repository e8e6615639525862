/**
 * One document by _id through the driver collection under the mongoose model: the hottest read of
 * all (every request reads its token), so it skips mongoose's query building and casting. Returns
 * the stored document as it is, like lean().
 */
export function readById<T>(model: { collection: { findOne(filter: object): Promise<unknown> } }, id: string): Promise<T | null> {
  return model.collection.findOne({ _id: id }) as Promise<T | null>;
}
