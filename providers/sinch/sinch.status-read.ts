/**
 * Sinch status reads (reconciliation): the recipient's delivery report,
 * `GET /xms/v1/{service_plan_id}/batches/{batch_id}/delivery_report/{recipient_msisdn}`, through
 * the official SDK (`sms.deliveryReports.getForNumber`), normalised like the per-recipient report
 * Sinch would have POSTed. RCS (Conversation) offers no per-message status read: `unsupported`.
 * https://developers.sinch.com/docs/sms/api-reference/sms/tag/Delivery-reports/
 */
import type { SinchClient } from '@sinch/sdk-core';
import type { DeliveryEvent, StatusReadRequest } from '../provider.ts';
import { classifySinchError } from './sinch.errors.ts';
import { runSinchCall } from './sinch.request-plugin.ts';
import { sinchReportEvent } from './sinch.webhook.ts';

/** Builds `readStatus` for a Sinch client; `timeoutMs` bounds each read (the SDK has no timeout). */
export function createSinchStatusReader(
  client: SinchClient,
  timeoutMs: number,
): (req: StatusReadRequest) => Promise<DeliveryEvent | 'not_found' | 'unsupported'> {
  return async (req) => {
    if (req.channel !== 'sms') return 'unsupported';
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    try {
      const report = await runSinchCall({ signal }, () =>
        client.sms.deliveryReports.getForNumber({ batch_id: req.providerMessageId, phone_number: req.to.replace(/^\+/, '') }),
      );
      const at = report.at instanceof Date ? report.at : new Date(String(report.at));
      return sinchReportEvent(
        req.providerMessageId,
        String(report.status),
        report.code,
        Number.isNaN(at.getTime()) ? new Date() : at,
        req.messageId,
      );
    } catch (err) {
      const classified = classifySinchError(err);
      if (classified.httpStatus === 404) return 'not_found';
      throw classified;
    }
  };
}
