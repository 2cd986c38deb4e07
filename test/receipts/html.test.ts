import { describe, expect, it } from 'vitest';
import { escapeHtml, renderHtml } from '../../src/receipts/html.js';
import { sampleModel } from './fixtures.js';

const malicious = '<script>alert("pwned")</script><img src=x onerror=alert(1)> & "quoted"';

describe('printable HTML voucher', () => {
  it('shows the amounts, fee and net amount with their Chinese labels', async () => {
    const html = await renderHtml(sampleModel());
    for (const text of [
      '退款金额(REFUND AMOUNT)',
      '¥123.45',
      '手续费(FEE)',
      '¥1.00',
      '实际应退金额(NET REFUND)',
      '¥122.45',
    ])
      expect(html).toContain(text);
    expect(html).toContain('<div class="field amount" data-key="net_amount">');
  });

  it('sizes the page for 58 mm paper, or 80 mm when asked', async () => {
    expect(await renderHtml(sampleModel(), 58)).toContain('@page { size: 58mm auto; margin: 0; }');
    const wide = await renderHtml(sampleModel(), 80);
    expect(wide).toContain('@page { size: 80mm auto; margin: 0; }');
    expect(wide).toContain('<body class="paper-80">');
  });

  it('escapes a malicious reason note instead of running it', async () => {
    const html = await renderHtml(sampleModel({}, { reason: { code: 'other', note: malicious } }));
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
    expect(html).toContain('&amp; &quot;quoted&quot;');
    expect(escapeHtml(`<a href='x'>&</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('embeds the QR code of the refund number as inline SVG', async () => {
    const html = await renderHtml(sampleModel());
    expect(html).toMatch(
      /<figure class="qr" data-payload="re_01JRECEIPTTEST000000000001"><svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*viewBox="0 0 \d+ \d+"/,
    );
    expect(html).toContain('扫码查询退款 / SCAN FOR REFUND');
  });

  it('marks a reprint and keeps the signature line and the masked card', async () => {
    const html = await renderHtml(sampleModel({ reprint: true }));
    expect(html).toContain('<p class="notice">重打印 / REPRINT</p>');
    expect(html).toContain('持卡人签名 / CARDHOLDER SIGNATURE');
    expect(html).toContain('622202******1234');
    expect(await renderHtml(sampleModel({ reprint: false }))).not.toContain('REPRINT');
  });

  it('declares its language and charset', async () => {
    const html = await renderHtml(sampleModel({ lang: 'zh-TW' }));
    expect(html).toMatch(/^<!doctype html>\n<html lang="zh-TW">\n<head>\n<meta charset="utf-8">/);
  });
});
