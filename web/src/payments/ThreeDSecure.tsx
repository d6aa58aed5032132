// The bank's challenge in a frame over the page, as Stripe.js shows it. The frame is same-origin
// (the local server forwards the sandbox's page), so the console sees when it is answered.
import { useRef } from 'react';

export type ChallengeOutcome = 'completed' | 'failed' | 'closed';

export function ThreeDSecureDialog({ url, onDone }: { url: string; onDone: (outcome: ChallengeOutcome) => void }) {
  const frame = useRef<HTMLIFrameElement>(null);
  const onLoad = () => {
    let search = '';
    try {
      search = frame.current?.contentWindow?.location.search ?? '';
    } catch {
      return; // Not readable: the page went elsewhere; the user closes the dialog.
    }
    const answer = new URLSearchParams(search).get('succeed');
    if (answer === 'true') onDone('completed');
    else if (answer === 'false') onDone('failed');
  };
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="tds-title">
        <h2 id="tds-title">Confirm this payment with your bank</h2>
        <p>Your bank asks you to confirm it is you (3-D Secure).</p>
        <iframe ref={frame} src={url} title="3-D Secure challenge" onLoad={onLoad} className="challenge" />
        <button type="button" className="secondary" onClick={() => onDone('closed')}>
          Cancel
        </button>
      </div>
    </div>
  );
}
