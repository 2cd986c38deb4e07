import type { Locator, Page } from 'playwright-core';

/**
 * Drives the terminal as a cashier would: taps on the touchscreen (clicks), keys on the on-screen
 * keypad, or a keyboard / barcode scanner. Counts every tap and keystroke, so a test can measure
 * how many a task takes.
 */
export class Cashier {
  taps = 0;
  keystrokes = 0;

  constructor(readonly page: Page) {}

  get actions(): number {
    return this.taps + this.keystrokes;
  }

  resetCount(): void {
    this.taps = 0;
    this.keystrokes = 0;
  }

  async tap(target: Locator | string): Promise<void> {
    const locator = typeof target === 'string' ? this.page.locator(target) : target;
    await locator.click();
    this.taps++;
  }

  /** Digits (and `.`) on the on-screen keypad, one tap each. */
  async keypad(digits: string): Promise<void> {
    for (const d of digits) await this.tap(this.page.locator(`.keypad [data-key="${d}"]`));
  }

  /** The keypad's OK key (submits, like Enter). */
  async ok(): Promise<void> {
    await this.tap(this.page.locator('.keypad [data-key="ok"]'));
  }

  /** Typing on a hardware keyboard, or a barcode scanner acting as one: one keystroke per character. */
  async type(text: string): Promise<void> {
    await this.page.keyboard.type(text);
    this.keystrokes += text.length;
  }

  async press(key: string): Promise<void> {
    await this.page.keyboard.press(key);
    this.keystrokes++;
  }

  /** A barcode scan: the scanner types the code and Enter into the focused field. */
  async scan(code: string): Promise<void> {
    await this.page.getByTestId('search').waitFor();
    await this.page.keyboard.type(code, { delay: 0 });
    await this.page.keyboard.press('Enter');
    this.keystrokes += code.length + 1;
  }

  tile(action: string): Locator {
    return this.page.locator(`.home-grid [data-action="${action}"]`);
  }

  reason(code: string): Locator {
    return this.page.locator(`[data-reason="${code}"]`);
  }

  async signIn(base: string, operatorNo = '01', password = '1111', query = ''): Promise<void> {
    await this.page.goto(`${base}/terminal/${query}`);
    await this.page.locator('input[name="operatorNo"]').waitFor();
    await this.keypad(operatorNo);
    await this.ok();
    await this.keypad(password);
    await this.ok();
    await this.tile('refund').waitFor();
  }

  /** The supervisor pad: number (unless remembered), password, approve. */
  async approve(operatorNo: string | null, password: string): Promise<void> {
    const pad = this.page.getByTestId('supervisor-pad');
    await pad.waitFor();
    if (operatorNo !== null) {
      await this.page.locator('input[name="supervisorNo"]').fill('');
      await this.keypad(operatorNo);
      await this.ok();
    }
    await this.keypad(password);
    await this.ok();
  }

  async resultTitle(): Promise<string> {
    return (await this.page.getByTestId('result-title').textContent()) ?? '';
  }

  /** Waits until the refund shown has ended (succeeded or failed) and answers its status. */
  async refundEnded(): Promise<string> {
    const status = this.page.locator(
      '[data-testid="refund-result"][data-status="succeeded"], [data-testid="refund-result"][data-status="failed"]',
    );
    await status.waitFor({ timeout: 15_000 });
    return (await status.getAttribute('data-status')) ?? '';
  }

  async home(): Promise<void> {
    await this.tap(this.page.getByTestId('back'));
    await this.tile('refund').waitFor();
  }
}
