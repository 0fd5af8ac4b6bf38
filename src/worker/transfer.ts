// Moving bytes between threads instead of copying them: a view can be transferred only when it spans an
// ArrayBuffer of its own (a slice of Node's shared Buffer pool must be copied, or the pool would go with it).

/** The ArrayBuffers of `views` that can be moved with a postMessage (those whose view covers all of them). */
export function movableBuffers(views: readonly Uint8Array[]): ArrayBuffer[] {
  return views.filter((v) => v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer).map((v) => v.buffer as ArrayBuffer);
}
