import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { ulid } from '../ids.js';

/** Where vouchers go out: e-mail and SMS, each one message per call; a throw means "try again later". */
export interface ReceiptSenders {
  email(to: string, subject: string, text: string, html: string): Promise<void>;
  sms(to: string, text: string): Promise<void>;
  /** One line for the startup banner: where messages end up. */
  describe: string;
}

export interface SenderConfig {
  dataDir: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  smsGatewayUrl: string | undefined;
  /** How long an SMS gateway call may take. */
  timeoutMs?: number;
}

/** Host and port only: a URL's user and password never reach a log or the banner. */
function where(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/**
 * E-mail through SMTP (nodemailer), or, without `SMTP_URL`, each message as a real `.eml` file under
 * DATA_DIR/mail/ (nodemailer's stream transport) that a developer can open. SMS through an HTTP
 * gateway (POST JSON `{to, text}`), or one JSON line per message appended to DATA_DIR/sms.log.
 */
export function makeSenders(cfg: SenderConfig): ReceiptSenders {
  const mailDir = join(cfg.dataDir, 'mail');
  const smsLog = join(cfg.dataDir, 'sms.log');
  const smtp = cfg.smtpUrl ? nodemailer.createTransport(cfg.smtpUrl) : null;
  const stream = smtp
    ? null
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const timeoutMs = cfg.timeoutMs ?? 10_000;
  return {
    describe: `e-mail ${cfg.smtpUrl ? `via SMTP ${where(cfg.smtpUrl)}` : `as .eml files in ${mailDir}`}; SMS ${
      cfg.smsGatewayUrl ? `via gateway ${where(cfg.smsGatewayUrl)}` : `appended to ${smsLog}`
    }`,
    async email(to, subject, text, html) {
      const message = { from: cfg.mailFrom, to, subject, text, html };
      if (smtp) {
        await smtp.sendMail(message);
        return;
      }
      const info = await (stream as ReturnType<typeof nodemailer.createTransport>).sendMail(message);
      await mkdir(mailDir, { recursive: true });
      await writeFile(join(mailDir, `${ulid()}.eml`), info.message as Buffer, { mode: 0o600 });
    },
    async sms(to, text) {
      if (cfg.smsGatewayUrl) {
        const res = await fetch(cfg.smsGatewayUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ to, text }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!res.ok) throw new Error(`SMS gateway answered ${res.status}`);
        return;
      }
      await mkdir(cfg.dataDir, { recursive: true });
      await appendFile(smsLog, `${JSON.stringify({ at: new Date().toISOString(), to, text })}\n`, {
        mode: 0o600,
      });
    },
  };
}
