import { describe, expect, it } from 'vitest';
import { parseRoute } from './routes.js';

describe('parseRoute', () => {
  it('shows the overview for an empty hash or #/', () => {
    expect(parseRoute('')).toEqual({ name: 'overview' });
    expect(parseRoute('#/')).toEqual({ name: 'overview' });
  });

  it('finds onboarding and an approval by id', () => {
    expect(parseRoute('#/onboarding')).toEqual({ name: 'onboarding' });
    expect(parseRoute('#/approve/3f1c-9a')).toEqual({ name: 'approve', id: '3f1c-9a' });
    expect(parseRoute('#/approve/a%2Fb')).toEqual({ name: 'approve', id: 'a/b' });
  });

  it('finds the Activity page and the approver page', () => {
    expect(parseRoute('#/activity')).toEqual({ name: 'activity' });
    expect(parseRoute('#/approver')).toEqual({ name: 'approver' });
    expect(parseRoute('#/activity/extra')).toEqual({ name: 'not-found', hash: '/activity/extra' });
  });

  it('reads where to go after unlocking, with or without a leading #', () => {
    expect(parseRoute('#/unlock')).toEqual({ name: 'unlock', next: '/' });
    expect(parseRoute('#/unlock?next=%2Fapprove%2Fabc')).toEqual({ name: 'unlock', next: '/approve/abc' });
    expect(parseRoute('#/unlock?next=#/approve/abc')).toEqual({ name: 'unlock', next: '/approve/abc' });
    expect(parseRoute('#/unlock?next=/approve/abc')).toEqual({ name: 'unlock', next: '/approve/abc' });
    expect(parseRoute('#/unlock?next=%23%2Fapprove%2Fabc')).toEqual({ name: 'unlock', next: '/approve/abc' });
  });

  it('never sends the user off the page after unlocking', () => {
    expect(parseRoute('#/unlock?next=https://evil.example')).toEqual({ name: 'unlock', next: '/' });
    expect(parseRoute('#/unlock?next=//evil.example')).toEqual({ name: 'unlock', next: '/' });
  });

  it('reads an EIP-5792 bundle page', () => {
    expect(parseRoute('#/calls/4f1c2d3e-aaaa-bbbb-cccc-0123456789ab')).toEqual({ name: 'calls', ref: '4f1c2d3e-aaaa-bbbb-cccc-0123456789ab' });
    expect(parseRoute('#/calls/')).toEqual({ name: 'not-found', hash: '/calls/' });
  });

  it('reports anything else as not found', () => {
    expect(parseRoute('#/approve/')).toEqual({ name: 'not-found', hash: '/approve/' });
    expect(parseRoute('#/approve/%E0%A4%A')).toEqual({ name: 'not-found', hash: '/approve/%E0%A4%A' });
    expect(parseRoute('#/settings')).toEqual({ name: 'not-found', hash: '/settings' });
  });
});
