/**
 * Twilio's configuration. The schema is the single place where this provider's config is
 * validated; the gateway's config loader hands the `providers.twilio` section to it.
 */
import { z } from 'zod';

/**
 * `accountSid` must start with `AC`: the SDK refuses anything else at construction time
 * (https://www.twilio.com/docs/iam/api/account), so we fail at config load instead of at the
 * first send. `from` defaults to Twilio's magic test sender `+15005550006`, which the sandbox
 * accepts. With `messagingServiceSid` set, sends go through the Messaging Service (sender pool,
 * RCS fallback) instead of `from`.
 */
export const twilioConfigSchema = z.object({
  accountSid: z.string().startsWith('AC', { message: 'a Twilio Account SID starts with "AC"' }),
  authToken: z.string().min(1),
  from: z.string().min(1).default('+15005550006'),
  messagingServiceSid: z.string().startsWith('MG', { message: 'a Messaging Service SID starts with "MG"' }).optional(),
});

/** Validated Twilio configuration (defaults applied). */
export type TwilioConfig = z.output<typeof twilioConfigSchema>;
