/**
 * The device's side of the co-signer protocol, shared by the headless client and the extension:
 * keygen (with the backup party run locally for a 2-of-3), presign and sign over one conversation.
 * Persisting what these return, before the next step, is the caller's job.
 */
import { randomBytes, bytesToHex } from '../mpc/bytes.js';
import { DkgParty, keyPublicInfo } from '../mpc/dkg.js';
import { payloadDigest, type SignablePayload } from '../mpc/ethereum.js';
import { InvalidArgumentError } from '../mpc/errors.js';
import { keyShareAddress, publicSharesDigest, type KeyShare } from '../mpc/keyshare.js';
import { SignParty, type SignResult } from '../mpc/sign.js';
import type { RecoverableSignature } from '../mpc/ecdsa.js';
import type { ProtocolMessage } from '../mpc/message.js';
import { BACKUP_PARTY, COSIGNER_PARTY, DEVICE_PARTY, payloadFromWire, payloadToWire, restoreProofContext, type CosignerReply } from './cosigner-protocol.js';
import { proveSharePossession } from '../mpc/share-proof.js';
import type { ProtocolConversation } from './protocol-conversation.js';

export interface KeygenResult {
  device: KeyShare;
  /** Only for a 2-of-3 wallet: the backup party's share, to leave the device as a recovery kit. */
  backup: KeyShare | undefined;
  address: `0x${string}`;
}

/** Runs DKG with the co-signer. Resolves only after the co-signer confirmed it stored the same key. */
export async function keygenWithCosigner(link: ProtocolConversation, options: { withBackup: boolean }): Promise<KeygenResult> {
  const parties = options.withBackup ? [DEVICE_PARTY, COSIGNER_PARTY, BACKUP_PARTY] : [DEVICE_PARTY, COSIGNER_PARTY];
  const session = randomBytes(32);
  const local = parties.filter((id) => id !== COSIGNER_PARTY).map((partyId) => DkgParty.create({ session, partyId, parties }));
  const results = await link.relay({
    parties: local,
    initial: local.flatMap((party) => party.start()),
    done: (done) => local.every((party) => done.has(party.partyId)),
    firstHeader: { type: 'keygen', parties, session: `0x${bytesToHex(session)}` },
    header: { type: 'mpc' },
    allowed: ['mpc'],
  });
  const device = results.get(DEVICE_PARTY)!;
  const backup = options.withBackup ? results.get(BACKUP_PARTY)! : undefined;
  // The co-signer may still be checking the last round: its confirmation is the key confirmation.
  assertConfirms(await awaitConfirmation(link, 'keygen-done', 'the key generation'), device, 'key');
  return { device, backup, address: keyShareAddress(device) };
}

/**
 * Refreshes the key with the co-signer: every party of the wallet takes part, so a 2-of-3
 * refresh needs the backup share here for its duration (and returns the backup's new share).
 * Two-phase: once the co-signer holds its new share aside (reshare-ready), `savePending` must
 * durably keep the new shares; only then is reshare-commit sent. Resolves once it is committed.
 */
export async function refreshWithCosigner(
  link: ProtocolConversation,
  shares: { device: KeyShare; backup?: KeyShare },
  /** Persists the new shares as pending before the commit is sent: if its answer is lost, they are not. */
  savePending: (pending: { device: KeyShare; backup: KeyShare | undefined }) => Promise<void>,
): Promise<{ device: KeyShare; backup: KeyShare | undefined }> {
  const needsBackup = shares.device.parties.includes(BACKUP_PARTY);
  if (needsBackup && !shares.backup) throw new InvalidArgumentError('Refreshing a 2-of-3 wallet needs the backup share (the recovery kit).');
  const session = randomBytes(32);
  const local = [shares.device, ...(needsBackup ? [shares.backup!] : [])].map((share) => DkgParty.refresh({ session, share }));
  const results = await link.relay({
    parties: local,
    initial: local.flatMap((party) => party.start()),
    done: (done) => local.every((party) => done.has(party.partyId)),
    firstHeader: { type: 'refresh', session: `0x${bytesToHex(session)}` },
    header: { type: 'mpc' },
    allowed: ['mpc'],
  });
  const device = results.get(DEVICE_PARTY)!;
  const backup = needsBackup ? results.get(BACKUP_PARTY)! : undefined;
  assertConfirms(await awaitConfirmation(link, 'reshare-ready', 'the refresh'), device, 'refresh');
  await savePending({ device, backup });
  await commitReshare(link, device);
  return { device, backup };
}

/**
 * Restores the wallet onto this (newly enrolled) device from the backup share: the device joins
 * empty-handed, the backup party runs here as a dealer beside the co-signer. Two-phase: once the
 * co-signer holds its new share aside (reshare-ready), `saveNew` must durably store the new
 * device share and the new backup share; only then is reshare-commit sent, which makes the
 * co-signer's share current and revokes the old device. A run that ends before `saveNew` leaves
 * the old shares in force and the old kit valid.
 */
export async function restoreWithCosigner(
  link: ProtocolConversation,
  backupShare: KeyShare,
  saveNew: (restored: { device: KeyShare; backup: KeyShare }) => Promise<void>,
  /** This (restoring) device's id: the proof of the backup share is bound to it. */
  deviceId: string,
): Promise<{ device: KeyShare; backup: KeyShare }> {
  if (backupShare.partyId !== BACKUP_PARTY) throw new InvalidArgumentError('This share is not a backup share (party 3).', `party ${backupShare.partyId}`);
  const session = randomBytes(32);
  const sessionHex = `0x${bytesToHex(session)}` as const;
  const proofContext = restoreProofContext({ session: sessionHex, walletId: link.conversation.walletId, deviceId, generation: backupShare.generation });
  const backupProof = `0x${bytesToHex(proveSharePossession(backupShare, proofContext))}` as const;
  const key = keyPublicInfo(backupShare);
  const options = { session, parties: [...backupShare.parties], dealers: [COSIGNER_PARTY, BACKUP_PARTY], key };
  const local = [DkgParty.reshare({ ...options, partyId: DEVICE_PARTY }), DkgParty.reshare({ ...options, partyId: BACKUP_PARTY, share: backupShare })];
  const results = await link.relay({
    parties: local,
    initial: local.flatMap((party) => party.start()),
    done: (done) => local.every((party) => done.has(party.partyId)),
    firstHeader: { type: 'restore', session: sessionHex, generation: backupShare.generation, backupProof },
    header: { type: 'mpc' },
    allowed: ['mpc'],
  });
  const restored = { device: results.get(DEVICE_PARTY)!, backup: results.get(BACKUP_PARTY)! };
  const ready = await awaitConfirmation(link, 'reshare-ready', 'the restore');
  assertConfirms(ready, restored.device, 'restore');
  await saveNew(restored);
  await commitReshare(link, restored.device);
  return restored;
}

/**
 * A new backup: this device (as a dealer) and the co-signer re-share the key to the device, the
 * co-signer and a new backup party run here, which is not a dealer and so learns only its new
 * share. The result is a 2-of-3 wallet whatever it was before. Two-phase as a restore: `saveNew`
 * must durably keep the new device share and the new backup share before reshare-commit is sent;
 * a run that ends before that leaves the old shares (and the old kit) in force.
 */
export async function newBackupWithCosigner(
  link: ProtocolConversation,
  deviceShare: KeyShare,
  saveNew: (reshared: { device: KeyShare; backup: KeyShare }) => Promise<void>,
): Promise<{ device: KeyShare; backup: KeyShare }> {
  if (deviceShare.partyId !== DEVICE_PARTY) throw new InvalidArgumentError('This share is not a device share (party 1).', `party ${deviceShare.partyId}`);
  const session = randomBytes(32);
  const options = { session, parties: [DEVICE_PARTY, COSIGNER_PARTY, BACKUP_PARTY], dealers: [DEVICE_PARTY, COSIGNER_PARTY], key: keyPublicInfo(deviceShare) };
  const local = [DkgParty.reshare({ ...options, partyId: DEVICE_PARTY, share: deviceShare }), DkgParty.reshare({ ...options, partyId: BACKUP_PARTY })];
  const results = await link.relay({
    parties: local,
    initial: local.flatMap((party) => party.start()),
    done: (done) => local.every((party) => done.has(party.partyId)),
    firstHeader: { type: 'new-backup', session: `0x${bytesToHex(session)}`, generation: deviceShare.generation },
    header: { type: 'mpc' },
    allowed: ['mpc'],
  });
  const reshared = { device: results.get(DEVICE_PARTY)!, backup: results.get(BACKUP_PARTY)! };
  assertConfirms(await awaitConfirmation(link, 'reshare-ready', 'the new backup'), reshared.device, 'new backup');
  await saveNew(reshared);
  await commitReshare(link, reshared.device);
  return reshared;
}

/** Second phase alone (restore or new backup): after a run whose reshare-commit got no answer, with the share it saved. */
export async function commitReshare(link: ProtocolConversation, device: KeyShare): Promise<void> {
  await link.send({ type: 'reshare-commit', generation: device.generation, sharesDigest: publicSharesDigest(device) });
  assertConfirms(await awaitConfirmation(link, 'reshare-done', 'the re-sharing'), device, 're-sharing');
}

type Confirmation = Extract<CosignerReply, { type: 'keygen-done' | 'reshare-ready' | 'reshare-done' }>;

/** Waits for the co-signer's confirmation of a key it stored; it may still be finishing the last round. */
async function awaitConfirmation(link: ProtocolConversation, type: Confirmation['type'], what: string): Promise<Confirmation> {
  for (;;) {
    const { header, messages } = await link.receive<{ type: 'mpc' } | Confirmation>(['mpc', type]);
    if (messages.length) throw new InvalidArgumentError(`The co-signer sent protocol messages after ${what} was complete.`);
    if (header.type !== 'mpc') return header;
  }
}

function assertConfirms(confirmation: Confirmation, share: KeyShare, what: string): void {
  if (confirmation.generation !== share.generation || confirmation.address.toLowerCase() !== keyShareAddress(share).toLowerCase()) {
    throw new InvalidArgumentError(`The co-signer confirmed a different ${what}.`, `generation ${confirmation.generation} vs ${share.generation}`);
  }
  // A re-sharing's new share is held aside: it must be this run's, or the commit would pair shares of two runs.
  if (confirmation.type === 'reshare-ready' && confirmation.sharesDigest !== publicSharesDigest(share)) {
    throw new InvalidArgumentError(`The co-signer holds aside the shares of another ${what} run.`, `${confirmation.sharesDigest} vs ${publicSharesDigest(share)}`);
  }
}

/** A presignature the device holds: its party state, exported. Single use. */
export interface DevicePresignature {
  id: string;
  state: string;
}

/** Runs the two presign rounds; resolves once the co-signer stored its half. */
export async function presignWithCosigner(link: ProtocolConversation, share: KeyShare): Promise<DevicePresignature> {
  const id = bytesToHex(randomBytes(16));
  const session = randomBytes(32);
  const party = SignParty.create({ share, session, signers: [DEVICE_PARTY, COSIGNER_PARTY] });
  await link.relay<SignResult>({
    parties: [party],
    initial: party.start(),
    done: (done) => done.has(DEVICE_PARTY),
    firstHeader: { type: 'presign', presignatureId: id, session: `0x${bytesToHex(session)}`, generation: share.generation },
    header: { type: 'mpc' },
    allowed: ['mpc'],
  });
  await link.receive(['presigned']);
  return { id, state: party.exportState() };
}

/**
 * Presigns and signs in one request (two round trips): for when no pooled presignature is ready.
 * The presignature exists only in this call's memory, so it cannot be used twice.
 */
export async function signNowWithCosigner(
  link: ProtocolConversation,
  share: KeyShare,
  payload: SignablePayload,
): Promise<{ signature: RecoverableSignature; payload: SignablePayload; digest: Uint8Array }> {
  const wire = payloadToWire(payload);
  const signed = payloadFromWire(wire);
  const session = randomBytes(32);
  const party = SignParty.create({ share, session, signers: [DEVICE_PARTY, COSIGNER_PARTY] });
  await link.send({ type: 'sign-now', session: `0x${bytesToHex(session)}`, generation: share.generation, payload: wire }, party.start());
  const { messages } = await link.receive(['mpc']);
  const outgoing: ProtocolMessage[] = [];
  let presigned = false;
  for (const message of messages) {
    const step = party.receive(message);
    outgoing.push(...step.outgoing);
    presigned ||= step.result?.kind === 'presigned';
  }
  if (!presigned) throw new InvalidArgumentError('The co-signer did not send both presign rounds.');
  const own = party.signPayload(signed);
  await link.send({ type: 'mpc' }, [...outgoing, ...own.outgoing]);
  const final = await link.receive(['signed']);
  let result = own.result;
  for (const message of final.messages) result = party.receive(message).result ?? result;
  if (!result || result.kind !== 'signature') throw new InvalidArgumentError('The co-signer answered without its online message.');
  return { signature: result.signature, payload: signed, digest: payloadDigest(signed) };
}

/**
 * Signs a payload with one presignature. `markUsed` must durably forget the presignature
 * before it resolves: it runs before the device's online message exists (checklist item 5).
 */
export async function signWithCosigner(
  link: ProtocolConversation,
  presignature: DevicePresignature,
  payload: SignablePayload,
  markUsed: (id: string) => Promise<void>,
): Promise<{ signature: RecoverableSignature; payload: SignablePayload; digest: Uint8Array }> {
  // Both sides hash the same wire form: a transaction is signed as it will be parsed over there.
  const wire = payloadToWire(payload);
  const signed = payloadFromWire(wire);
  const party = SignParty.fromState(presignature.state);
  await markUsed(presignature.id);
  const own = party.signPayload(signed);
  await link.send({ type: 'sign', presignatureId: presignature.id, payload: wire }, own.outgoing);
  const { messages } = await link.receive(['signed']);
  let result = own.result;
  for (const message of messages) result = party.receive(message).result ?? result;
  if (!result || result.kind !== 'signature') throw new InvalidArgumentError('The co-signer answered without its online message.');
  return { signature: result.signature, payload: signed, digest: payloadDigest(signed) };
}
