// The live region that tells screen readers what happened (copied, jumped, job milestones).

export class Announcer {
  constructor(private readonly region: HTMLElement) {}

  say(text: string): void {
    // Clearing first makes a repeated text be read again.
    this.region.textContent = '';
    window.setTimeout(() => (this.region.textContent = text), 50);
  }
}
