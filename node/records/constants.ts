// Timing constants of the records service, with where each value comes from.

/**
 * How often a peer looks for consents that expired, to delete the ciphertext it fetched under them
 * (fetched-copies.ts). A revoke triggers the sweep at once; an expiry is caught within this time.
 * One minute keeps the sweep cheap (it reads only the consents of images fetched under consent).
 */
export const FETCHED_COPIES_SWEEP_MS = 60_000
