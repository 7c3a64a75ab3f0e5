// The checks of a head anchor kept outside the database against the chain in it: the store's
// verify checks the newest anchor, the verify route every other anchor the witness file holds.

/** Where the chain starts: the event it was pruned through (0: never) and that event's hash. */
export type ChainStart = { seq: number; hash: string };
/** The prune checkpoints the witness file records. */
export type WitnessedCheckpoints = ReadonlyArray<{
  throughSeq: number;
  hash: string;
}>;
/** Why the chain does not hold an anchor. */
export type AnchorFailure = { failedSeq: number; reason: string };
/** A head anchor as published outside the database. */
export type PublishedAnchor = {
  seq: number;
  hash: string;
  at: string;
  /** Where the chain started then (absent in older anchors). */
  checkpointSeq?: number;
  checkpointHash?: string;
};

/**
 * Where the chain starts against where it started when `anchor` was published: the same
 * checkpoint, or a later one a prune recorded in the witness file (as the store's verify checks
 * for the newest anchor). Anchors that did not record the start are not compared.
 */
export function startBroken(
  anchor: PublishedAnchor,
  start: ChainStart,
  witnessed: WitnessedCheckpoints,
): AnchorFailure | undefined {
  const then = anchor.checkpointSeq;
  if (then === undefined) return undefined;
  const recorded = `an anchor published at ${anchor.at} recorded`;
  if (start.seq === then) {
    return start.hash === anchor.checkpointHash
      ? undefined
      : {
          failedSeq: start.seq,
          reason: `The chain starts after event ${start.seq} with another hash than ${recorded} for its start (${anchor.checkpointHash}): the events before it were replaced`,
        };
  }
  if (start.seq < then) {
    return {
      failedSeq: start.seq,
      reason: `The chain starts after event ${start.seq}, but when ${recorded} its head it started after event ${then}: events were put back below a prune, or the database was restored from an older backup`,
    };
  }
  if (
    witnessed.some(c => c.throughSeq === start.seq && c.hash === start.hash)
  ) {
    return undefined;
  }
  return {
    failedSeq: start.seq,
    reason: `The chain starts after event ${start.seq}, but it started after event ${then} when ${recorded} its head, and no prune checkpoint in the witness file records a prune through ${start.seq} with the hash the chain continues from: events up to ${start.seq} were removed without a recorded prune`,
  };
}

/**
 * Whether the chain, which ends at `headSeq` and starts after `start`, still holds `anchor`: the
 * anchored event with the anchored hash (`hashAt` gives an event's hash, undefined when the
 * database does not hold it), or a prune the witness file records past it; and it starts where it
 * started then, or after a prune recorded since. An event the database no longer holds is looked
 * for below `startNow()` when given (the chain pruned since `start` was read: only a recorded
 * prune may have removed it). `grownPast` says the chain may have grown again past a cut below
 * the anchor (an older anchor than the head's), as the reason of a changed hash then says.
 */
export async function anchorBroken(
  anchor: PublishedAnchor,
  chain: {
    headSeq: number;
    start: ChainStart;
    witnessed: WitnessedCheckpoints;
  },
  hashAt: (seq: number) => Promise<string | undefined>,
  options: { startNow?: () => Promise<ChainStart>; grownPast?: boolean } = {},
): Promise<AnchorFailure | undefined> {
  const { headSeq, start, witnessed } = chain;
  const recorded = `an anchor published at ${anchor.at} recorded`;
  const anotherHash = {
    failedSeq: anchor.seq,
    reason: `Event ${anchor.seq} has another hash than ${recorded} (${
      anchor.hash
    }): it, or an event before it, was rewritten${
      options.grownPast
        ? ', or the tail was cut below it and the chain grew again'
        : ''
    }`,
  };
  if (headSeq < anchor.seq) {
    return {
      failedSeq: headSeq + 1,
      reason: `The chain ends at ${headSeq} but ${recorded} event ${
        anchor.seq
      } with hash ${anchor.hash}: events ${headSeq + 1}–${
        anchor.seq
      } were removed from the database (the tail was cut), or the database was restored from an older backup`,
    };
  }
  let pruned = start;
  if (anchor.seq > start.seq) {
    const hash = await hashAt(anchor.seq);
    if (hash !== undefined) {
      return hash === anchor.hash
        ? startBroken(anchor, start, witnessed)
        : anotherHash;
    }
    pruned = options.startNow ? await options.startNow() : start;
    if (anchor.seq > pruned.seq) {
      return {
        failedSeq: anchor.seq,
        reason: `Event ${anchor.seq} is missing, although ${recorded} it`,
      };
    }
  }
  // Pruned up to or past the anchored event: only a prune the witness recorded (its checkpoint
  // is written outside the database before anything is deleted) may have done it.
  if (
    !witnessed.some(c => c.throughSeq === pruned.seq && c.hash === pruned.hash)
  ) {
    return {
      failedSeq: anchor.seq,
      reason: `The chain was pruned through event ${pruned.seq}, ${
        anchor.seq === pruned.seq ? 'the event' : `past event ${anchor.seq}`
      } that ${recorded}, but no prune checkpoint in the witness file records a prune through ${
        pruned.seq
      } with the hash the chain continues from: events up to ${
        pruned.seq
      } were removed without a recorded prune`,
    };
  }
  if (anchor.seq === pruned.seq && pruned.hash !== anchor.hash) {
    return anotherHash;
  }
  return startBroken(anchor, start, witnessed);
}
