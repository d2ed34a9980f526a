import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startMosquittoHarness, findDynsecPlugin, findMosquitto } from './mosquitto-harness.js';
import { DEPLOY_CONFIG_PARAMS, initialDynsecConfig, renderMosquittoConf } from './mosquitto-config.js';
import { approverRoleAcls, approverRoleName, cosignerRoleAcls, deviceRoleAcls, deviceRoleName, walletRoleAcls, walletRoleName } from './mosquitto-acls.js';

const deployFile = (name: string) => readFile(new URL(`../../../deploy/mosquitto/${name}`, import.meta.url), 'utf8');

describe('shipped Mosquitto configuration', () => {
  it('deploy/mosquitto/mosquitto.conf is exactly what the tested renderer produces', async () => {
    expect(await deployFile('mosquitto.conf')).toBe(renderMosquittoConf(DEPLOY_CONFIG_PARAMS));
  });

  it('deploy/mosquitto/dynamic-security.json is exactly the tested initial state', async () => {
    expect(await deployFile('dynamic-security.json')).toBe(JSON.stringify(initialDynsecConfig(), null, 2) + '\n');
  });

  it('denies by default and switches off retained messages', () => {
    const conf = renderMosquittoConf(DEPLOY_CONFIG_PARAMS);
    expect(conf).toMatch(/^allow_anonymous false$/m);
    expect(conf).toMatch(/^retain_available false$/m);
    expect(conf).toMatch(/^require_certificate true$/m);
    expect(initialDynsecConfig().defaultACLAccess).toEqual({ publishClientSend: false, publishClientReceive: false, subscribe: false, unsubscribe: true });
  });

  it("gives a wallet role exactly its two inboxes (the co-signer's with its pool instances) and the status topic", () => {
    const wallet = '0123456789abcdef0123456789abcdef';
    expect(walletRoleName(wallet)).toBe(`wallet-${wallet}`);
    expect(walletRoleAcls(wallet)).toEqual([
      { acltype: 'publishClientSend', topic: `tandem/v1/w/${wallet}/to/cosigner`, allow: true },
      { acltype: 'publishClientSend', topic: `tandem/v1/w/${wallet}/to/cosigner/+`, allow: true },
      { acltype: 'subscribeLiteral', topic: `tandem/v1/w/${wallet}/to/device`, allow: true },
      { acltype: 'subscribeLiteral', topic: 'tandem/v1/status/cosigner', allow: true },
      { acltype: 'publishClientReceive', topic: `tandem/v1/w/${wallet}/to/device`, allow: true },
      { acltype: 'publishClientReceive', topic: 'tandem/v1/status/cosigner', allow: true },
    ]);
    expect(() => walletRoleName('+')).toThrow(TypeError);
  });

  it("gives a device role exactly the device's mailbox, and an approver role its mailbox and the status", () => {
    const id = 'fedcba9876543210fedcba9876543210';
    expect(deviceRoleName(id)).toBe(`device-${id}`);
    expect(deviceRoleAcls(id)).toEqual([
      { acltype: 'publishClientSend', topic: `tandem/v1/mail/${id}/out`, allow: true },
      { acltype: 'subscribeLiteral', topic: `tandem/v1/mail/${id}/in`, allow: true },
      { acltype: 'publishClientReceive', topic: `tandem/v1/mail/${id}/in`, allow: true },
    ]);
    expect(approverRoleName(id)).toBe(`approver-${id}`);
    expect(approverRoleAcls(id)).toEqual([
      ...deviceRoleAcls(id),
      { acltype: 'subscribeLiteral', topic: 'tandem/v1/status/cosigner', allow: true },
      { acltype: 'publishClientReceive', topic: 'tandem/v1/status/cosigner', allow: true },
    ]);
    expect(() => deviceRoleName('%u')).toThrow(TypeError);
    expect(() => approverRoleName('+')).toThrow(TypeError);
  });

  it('lets the co-signer role read every outgoing mailbox (also shared, for pools) and write every incoming one', () => {
    const acls = cosignerRoleAcls().map((acl) => `${acl.acltype} ${acl.topic}`);
    expect(acls).toEqual(
      expect.arrayContaining([
        'subscribePattern tandem/v1/mail/+/out',
        'subscribePattern $share/tandem-cosigners/tandem/v1/mail/+/out',
        'publishClientReceive tandem/v1/mail/+/out',
        'publishClientSend tandem/v1/mail/+/in',
      ]),
    );
    expect(acls.filter((acl) => acl.includes('/mail/'))).toHaveLength(4);
  });

  it('uses no %u or %c in any ACL topic: Mosquitto 2.0 dynamic security takes them literally', () => {
    const id = '0123456789abcdef0123456789abcdef';
    const every = [...cosignerRoleAcls(), ...walletRoleAcls(id), ...deviceRoleAcls(id), ...approverRoleAcls(id)];
    for (const acl of every) expect(acl.topic).not.toMatch(/%[uc]/);
  });
});

describe('finding Mosquitto', () => {
  it('fails with an actionable error when the binary is missing', async () => {
    expect(() => findMosquitto('/nonexistent/mosquitto')).toThrow(expect.objectContaining({ code: 'MOSQUITTO_NOT_INSTALLED', message: expect.stringContaining('apt-get install -y mosquitto') }));
    await expect(startMosquittoHarness({ binary: '/nonexistent/mosquitto' })).rejects.toMatchObject({ code: 'MOSQUITTO_NOT_INSTALLED' });
    expect(() => findDynsecPlugin('/nonexistent/plugin.so')).toThrow(expect.objectContaining({ code: 'MOSQUITTO_PLUGIN_MISSING' }));
  });

  it('finds the installed broker and its dynamic-security plugin (CI installs them)', () => {
    expect(findMosquitto()).toMatch(/mosquitto$/);
    expect(findDynsecPlugin()).toMatch(/mosquitto_dynamic_security\.so$/);
  });
});
