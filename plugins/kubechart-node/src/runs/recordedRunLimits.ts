/**
 * What one recorded run may hold, as the kubechart backend stores it (`POST /runs/:id/events` and
 * `POST /runs/:id/finish` answer more with 413, storing nothing of that request). The handle
 * {@link KubechartRunsService.recordRun} returns checks the number of events, the manifest's
 * characters and objects and the size of each request body first; the characters of messages are
 * counted by the backend alone, once their secrets are removed.
 * @public
 */
export const RECORDED_RUN_LIMITS = Object.freeze({
  /**
   * The most objects (each item of a List counted) the manifest of a recorded run's finish may
   * hold: as many as one drift pass of the backend compares by default.
   */
  maxManifestObjects: 5000,
  /**
   * The most characters (UTF-16 code units, as JavaScript counts a string's length) the manifest of
   * a recorded run's finish may hold. The whole finish is one request body, within
   * `REQUEST_BODY_LIMITS` (bytes as UTF-8, nesting, values), which the handle checks too.
   */
  maxManifestCharacters: 5_000_000,
  /** The most events one recorded run stores. */
  maxEvents: 10_000,
  /**
   * The most characters the messages of one recorded run's events hold together, as the backend
   * stores them (secrets removed: a message holding a private key keeps a few dozen characters).
   */
  maxEventCharacters: 50_000_000,
});
