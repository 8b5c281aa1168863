/**
 * Phone masking for API responses, events and logs: enough digits to recognise a number
 * ("+1415•••0100"), too few to use it.
 */
export function maskPhone(e164: string): string {
  if (!/^\+\d{6,15}$/.test(e164)) return '***';
  const digits = e164.slice(1);
  const head = digits.slice(0, Math.min(4, digits.length - 6));
  const tail = digits.slice(-4);
  return `+${head}${'*'.repeat(digits.length - head.length - tail.length)}${tail}`;
}

/** Masks anything that looks like a phone number inside free text (carrier error messages, lookup failures). */
export function maskPhonesInText(text: string): string {
  return text.replace(/\+?\d[\d ()-]{6,18}\d/g, (m) => maskPhone(`+${m.replace(/\D/g, '')}`));
}
