import { describe, expect, it } from 'vitest';
import { isPricedChannel, listPrice, type PricingTable } from './price-book.ts';

const pricing: PricingTable = {
  regions: { US: 'na', GB: 'eu' },
  prices: { twilio: { na: 0.0075, default: 0.05 } },
  tiers: {},
  channels: { whatsapp: { twilio: { na: 0.0185, default: 0.033, countries: { GB: 0.0408 } }, sinch: { eu: 0.0456 } } },
};

describe('the price book', () => {
  it('prices SMS per segment and WhatsApp per message, each from its own table', () => {
    expect(listPrice(pricing, 'twilio', 'US')).toBe(0.0075);
    expect(listPrice(pricing, 'twilio', 'US', 'whatsapp')).toBe(0.0185);
    expect(listPrice(pricing, 'twilio', 'GB', 'whatsapp')).toBe(0.0408);
    expect(listPrice(pricing, 'twilio', 'BR', 'whatsapp')).toBe(0.033);
    expect(listPrice(pricing, 'sinch', 'GB', 'whatsapp')).toBe(0.0456);
    expect(listPrice(pricing, 'sinch', 'US', 'whatsapp')).toBeUndefined();
    expect(listPrice(pricing, 'sinch', 'US')).toBeUndefined();
  });

  it('treats SMS and the channels it lists as priced, and nothing else', () => {
    expect(isPricedChannel(pricing, 'sms')).toBe(true);
    expect(isPricedChannel(pricing, 'whatsapp')).toBe(true);
    expect(isPricedChannel(pricing, 'rcs')).toBe(false);
    expect(isPricedChannel({ ...pricing, channels: {} }, 'whatsapp')).toBe(false);
  });
});
