/**
 * UTC hour field names `YYYYMMDDHH`, shared by the pumping tripwire's send counters and the
 * conversion counters so both count over the same hours.
 *
 * Computed with integer calendar arithmetic (days → civil date, H. Hinnant's algorithm) rather than
 * `new Date(ms).toISOString()`: the guard names a whole window of hours (25 for the default 24 h)
 * per message, and building a `Date` and an ISO string per hour was a measurable share of a send
 * job's CPU. The output equals the ISO-derived name for every year from 0 to 9999.
 */

const HOUR_MS = 3_600_000;

/** `YYYYMMDD` as a number for a count of days since 1970-01-01 (negative before it). */
function civilDate(days: number): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return year * 10_000 + month * 100 + day;
}

/** The field of hour number `hour` (hours since the epoch) given its day's `YYYYMMDD00` value. */
function field(dayBase: number, hour: number): string {
  const hourOfDay = hour - Math.floor(hour / 24) * 24;
  return String(dayBase + hourOfDay).padStart(10, '0');
}

/** `YYYYMMDDHH` (UTC) of a time. */
export function utcHour(ms: number): string {
  const hour = Math.floor(ms / HOUR_MS);
  return field(civilDate(Math.floor(hour / 24)) * 100, hour);
}

/**
 * The `YYYYMMDDHH` fields of every UTC hour that overlaps `[fromMs, toMs]`, oldest first (empty when
 * `fromMs` is in a later hour than `toMs`). The calendar date is worked out once per day, not per hour.
 */
export function utcHours(fromMs: number, toMs: number): string[] {
  const first = Math.floor(fromMs / HOUR_MS);
  const last = Math.floor(toMs / HOUR_MS);
  const out: string[] = [];
  let day = Number.NaN;
  let dayBase = 0;
  for (let hour = first; hour <= last; hour++) {
    const d = Math.floor(hour / 24);
    if (d !== day) {
      day = d;
      dayBase = civilDate(d) * 100;
    }
    out.push(field(dayBase, hour));
  }
  return out;
}
