// White-label settings of a license (feature white_label): brand name, logo, primary colour and
// the custom domain, with a live preview of the branded console as they are typed. A new domain
// must be proven before its theme is served: the API answers the DNS TXT record to create
// (`_azora-verify.<domain>`), and "Check DNS" asks it to look the record up. A claim waiting for
// its proof is read back from the API, so it survives a reload or another device.
import { useState, type FormEvent } from 'react';
import { api, ApiError, type components } from '../api/client';
import { ErrorMessage, Field, Notice, useAsync } from '../components/ui';

type License = components['schemas']['License'];
type Theme = components['schemas']['WhiteLabel'];
type Claim = components['schemas']['WhiteLabelClaim'];

const EMPTY: Theme = { brandName: '', logoUrl: 'https://', primaryColor: '#1f5fbf', customDomain: '' };
const HEX = /^#[0-9a-fA-F]{6}$/;

/** Black or white, whichever reads better on `hex` (WCAG relative luminance). */
export function textOn(hex: string): '#000000' | '#ffffff' {
  if (!HEX.test(hex)) return '#ffffff';
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // Contrast with white is 1.05 / (l + 0.05), with black (l + 0.05) / 0.05: pick the larger.
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#ffffff' : '#000000';
}

export function WhiteLabelSettings({ license, onChanged }: { license: License; onChanged: () => void }) {
  const [theme, setTheme] = useState<Theme>(license.whiteLabel ?? EMPTY);
  const [claim, setClaim] = useState<Claim | null>(null);
  const [stored] = useAsync(
    (signal) => api.get('/api/enterprise/licenses/{licenseId}/white-label', { signal, params: { licenseId: license.licenseId } }),
    [license.licenseId],
  );
  const pending = stored.state === 'ready' ? stored.data.pending : null;
  // The form starts from a pending claim's theme, once, unless a claim was made here meanwhile.
  const [seeded, setSeeded] = useState(false);
  if (!seeded && pending && !claim) {
    setSeeded(true);
    setTheme(pending.whiteLabel);
  }
  const shown = claim ?? pending;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const params = { licenseId: license.licenseId };
  const issues = error instanceof ApiError ? error.issues : [];
  const errorFor = (field: keyof Theme) =>
    issues
      .filter((i) => i.field === field || i.field === `/${field}`)
      .map((i) => (i.message ?? 'Not valid').replace(new RegExp(`^/?${field}: `), ''))
      .join(' ') || undefined;
  const set = (field: keyof Theme) => (value: string) => setTheme((t) => ({ ...t, [field]: value }));
  const live = license.whiteLabel;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const saved = await api.put('/api/enterprise/licenses/{licenseId}/white-label', {
        params,
        body: { ...theme, brandName: theme.brandName.trim(), customDomain: theme.customDomain.trim().toLowerCase() },
      });
      setClaim(saved);
      if (saved.status === 'active') {
        setDone(`Saved: the theme is live on ${saved.whiteLabel.customDomain}.`);
        onChanged();
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const verify = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const verified = await api.post('/api/enterprise/licenses/{licenseId}/white-label/verify', { params });
      setClaim(verified);
      setDone(`Verified: the theme is live on ${verified.whiteLabel.customDomain}.`);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const found = error instanceof ApiError && Array.isArray(error.details.found) ? (error.details.found as unknown[]).map(String) : null;

  return (
    <section className="card" aria-labelledby="white-label-title" data-testid="white-label">
      <h2 id="white-label-title">White label</h2>
      <p>
        {live
          ? `Live on ${live.customDomain} as ${live.brandName}.`
          : 'Your learners see Azora. Brand it with your name, logo and colour on your own domain.'}
      </p>
      <div className="columns">
        <form onSubmit={save} aria-label="White-label theme" noValidate>
          <Field label="Brand name" error={errorFor('brandName')}>
            <input name="brandName" value={theme.brandName} onChange={(e) => set('brandName')(e.target.value)} maxLength={80} />
          </Field>
          <Field label="Logo URL" hint="An https:// address of a PNG or SVG" error={errorFor('logoUrl')}>
            <input name="logoUrl" type="url" value={theme.logoUrl} onChange={(e) => set('logoUrl')(e.target.value)} />
          </Field>
          <Field label="Primary colour" hint="#rrggbb" error={errorFor('primaryColor') ?? (HEX.test(theme.primaryColor) ? undefined : 'Use #rrggbb, e.g. #1a2b3c.')}>
            <span className="color-input">
              <input
                type="color"
                aria-label="Pick the primary colour"
                value={HEX.test(theme.primaryColor) ? theme.primaryColor : '#000000'}
                onChange={(e) => set('primaryColor')(e.target.value)}
              />
              <input name="primaryColor" value={theme.primaryColor} onChange={(e) => set('primaryColor')(e.target.value)} maxLength={7} />
            </span>
          </Field>
          <Field label="Custom domain" hint="e.g. learn.example.com" error={errorFor('customDomain')}>
            <input name="customDomain" value={theme.customDomain} onChange={(e) => set('customDomain')(e.target.value)} />
          </Field>
          <button type="submit" disabled={busy || !theme.brandName.trim() || !theme.customDomain.trim()}>
            Save theme
          </button>
        </form>
        <Preview theme={theme} />
      </div>
      {shown?.status === 'pending_verification' && shown.verification && (
        <div className="notice" data-testid="dns-record">
          <p>
            <strong>Prove that you control {shown.whiteLabel.customDomain}.</strong> Create this DNS record, then check it.
            Until then {live ? `the current theme stays on ${live.customDomain}` : 'nothing is served on the domain'}.
          </p>
          <dl className="facts">
            <dt>Type</dt>
            <dd>{shown.verification.type}</dd>
            <dt>Name</dt>
            <dd>
              <code data-testid="dns-name">{shown.verification.name}</code>
            </dd>
            <dt>Value</dt>
            <dd>
              <code data-testid="dns-value">{shown.verification.value}</code>
            </dd>
          </dl>
          <button type="button" onClick={verify} disabled={busy}>
            {busy ? 'Checking…' : 'Check DNS'}
          </button>
        </div>
      )}
      {issues.length === 0 && <ErrorMessage error={error} />}
      {found && found.length > 0 && <p className="muted">Found instead: {found.join(', ')}</p>}
      {done && <Notice>{done}</Notice>}
    </section>
  );
}

/** The branded console's header and a course card, as learners would see them. */
function Preview({ theme }: { theme: Theme }) {
  const color = HEX.test(theme.primaryColor) ? theme.primaryColor : '#1f5fbf';
  const fg = textOn(color);
  const logo = /^https:\/\/[^/\s]+\.[^/\s]+/.test(theme.logoUrl) ? theme.logoUrl : null;
  const name = theme.brandName.trim() || 'Your brand';
  return (
    <figure className="preview" data-testid="white-label-preview" aria-label="Preview">
      <figcaption>Preview{theme.customDomain.trim() ? ` of https://${theme.customDomain.trim().toLowerCase()}/` : ''}</figcaption>
      <div className="preview-bar" style={{ background: color, color: fg }} data-fg={fg}>
        {logo && (
          <img src={logo} alt="" width={24} height={24} onError={(e) => ((e.target as HTMLImageElement).style.display = 'none')} />
        )}
        <strong>{name}</strong>
        <span>Catalog</span>
        <span>My learning</span>
      </div>
      <div className="preview-body">
        <p>Welcome to {name} learning.</p>
        <span className="preview-button" style={{ background: color, color: fg }}>
          Start learning
        </span>
      </div>
    </figure>
  );
}
