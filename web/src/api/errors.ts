// Every error code the API documents, in words a person can act on. The API's own `message` is
// shown as a detail where it says more (e.g. which field), never instead of these.
import { ApiError } from './client';

const MESSAGES: Record<string, string> = {
  unauthorized: 'Your session has expired or is not valid. Please sign in again.',
  forbidden: 'Your account is not allowed to do this.',
  feature_not_in_plan: 'Your plan does not include this feature. Upgrade to use it.',
  feature_not_licensed: "Your organisation's license does not include this feature.",
  not_found: 'We could not find that. It may have been removed, or it is not yours.',
  route_not_found: 'This part of the service is not available.',
  validation_failed: 'Some of the details are not valid. Please check the highlighted fields.',
  invalid_json: 'The request could not be read. Please try again.',
  invalid_limit: 'The page size is not valid.',
  invalid_cursor: 'This page link is no longer valid. Start again from the first page.',
  invalid_period: 'That period is not available.',
  invalid_month: 'Choose a month as YYYY-MM.',
  missing_path_parameter: 'The link is incomplete.',
  payload_too_large: 'That is too much to send at once. Shorten the text or split it up.',
  idempotency_key_required: 'The request was missing its safety key. Please try again.',
  invalid_idempotency_key: 'The request was missing its safety key. Please try again.',
  idempotency_key_reused: 'This request was already sent with different details. Start again.',
  idempotency_in_progress: 'The same request is still being processed. Wait a moment and refresh.',
  conflict: 'Someone changed this at the same time. Refresh and try again.',
  rate_limited: 'Too many attempts. Please wait a minute and try again.',
  service_unavailable: 'The service is briefly unavailable. Please try again in a moment.',
  internal_error: 'Something went wrong on our side. Please try again.',
  network_error: 'The server could not be reached. Check your connection and try again.',
  // Payments and checkout
  card_declined: 'Your card was declined. Nothing was charged; try another card.',
  payment_rejected: 'The payment was refused. Nothing was charged.',
  already_owned: 'You already own this course.',
  order_in_progress: 'You already have a payment in progress for this course. Wait for it to finish.',
  not_purchasable: 'This course cannot be bought right now.',
  free_course: 'This course is free: enroll without paying.',
  own_course: 'You cannot buy or review your own course.',
  mixed_currencies: 'These courses are priced in different currencies. Buy them in separate orders.',
  amount_out_of_range: 'The amount is outside what can be charged.',
  course_archived: 'This course is no longer available.',
  voucher_used: 'That voucher has already been used.',
  voucher_currency_mismatch: "That voucher is in another currency than this order.",
  voucher_not_applicable: 'This order is already at the minimum charge; the voucher cannot reduce it.',
  receipt_not_ready: 'The receipt is not ready: the payment has not completed yet.',
  // Refunds
  not_refundable: 'This payment cannot be refunded.',
  payment_not_fulfilled: 'This payment is still being completed. Try the refund again shortly.',
  refund_exceeds_remaining: 'That is more than what is left to refund.',
  refund_window_closed: 'The refund window for this payment has closed.',
  partial_refund_not_allowed: 'Only a full refund of what remains can be requested.',
  // Courses and reviews
  not_enrolled: 'Enroll in this course first.',
  // Subscriptions
  subscription_exists: 'You already have a subscription.',
  subscription_in_progress: 'Your subscription is being set up. Wait a moment.',
  no_change: 'That is already your plan.',
  quote_expired: 'That price was quoted over an hour ago. Here is the current price; confirm again.',
  plan_not_updated: 'Your payment went through, but your plan has not updated yet. Refresh in a minute.',
  enterprise_via_license: 'Enterprise plans come with an organisation license.',
  free_needs_no_subscription: 'The Free plan needs no subscription.',
  // Tokens
  insufficient_balance: 'You do not have enough tokens for this reward.',
  ledger_refused: 'The token ledger refused this change.',
  // Licenses
  invalid_license_key: 'That license key is not valid.',
  no_seats_left: 'Every seat of this license is taken. Release a seat or add seats first.',
  self_activation_disabled: 'This license does not allow members to take a seat themselves.',
  seats_below_use: 'The license cannot have fewer seats than are in use.',
  license_revoked: 'This license has been revoked.',
  invalid_status_transition: 'The license cannot change to that status from its current one.',
  domain_taken: 'That domain is already used by another organisation.',
  org_mismatch: 'This license belongs to another organisation.',
  key_superseded: 'That license key was replaced by a newer one. Ask your administrator for the current key.',
  license_inactive: 'This license is not active (suspended, revoked or expired).',
  nothing_to_verify: 'There is no custom domain waiting for verification.',
  domain_not_verified: "The domain's DNS TXT record was not found yet. Add it, wait for DNS to update, and check again.",
  // Saved cards
  default_card_required: 'Add another card and make it the default before removing this one.',
  // Support tickets
  ticket_closed: 'This ticket is closed. File a new ticket if you need more help.',
  invalid_transition: 'The ticket cannot move to that status from its current one.',
  // Classes
  class_full: 'This class is full. Ask its owner for another class.',
  // Social
  cannot_follow_self: 'You cannot follow yourself.',
  follow_limit_reached: 'You follow the maximum number of people.',
  // Local sign-in
  dev_sign_in_unavailable: 'Dev sign-in is not available on this server.',
};

/** Card declines say why, when Stripe does. */
const DECLINES: Record<string, string> = {
  insufficient_funds: 'Your card has insufficient funds.',
  lost_card: 'Your card was reported lost.',
  stolen_card: 'Your card was reported stolen.',
  expired_card: 'Your card has expired.',
  incorrect_cvc: "The card's security code is incorrect.",
  processing_error: 'An error occurred while processing your card.',
  generic_decline: 'Your card was declined.',
};

export function humanMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Please try again.';
  if (error.code === 'card_declined') {
    const reason = DECLINES[String(error.details.declineCode ?? error.details.stripeCode ?? '')];
    return reason ? `${reason} Nothing was charged; try another card.` : MESSAGES.card_declined!;
  }
  return MESSAGES[error.code] ?? (error.message || `Unexpected error (${error.code}).`);
}

/** Every code this console knows, for the test that the documented ones are all covered. */
export const KNOWN_CODES = Object.keys(MESSAGES);
