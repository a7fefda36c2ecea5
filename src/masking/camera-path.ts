/**
 * Where the camera pointed at each frame, so a box detected at one scan can be carried
 * to another frame the way the picture moved: between two scans a face held still in
 * the scene moves on the screen only with the camera, and its mask can follow that path
 * instead of covering the hull of both ends (under a shake, the camera's path between
 * two scans is not a straight line at all).
 *
 * A pose maps a frame's pixels to the coordinates of the picture its shot started with.
 * The path is a step function over time: a pose holds from its time until the next
 * one; while the camera is still, one pose stands for every frame. Frames whose pose is
 * not known (the camera moved between two scans that nobody registered the frames of)
 * hold `null`, and a box is not carried into or out of them.
 */
import { apply, compose, IDENTITY, invert, type Similarity } from './camera-motion.js';
import type { Box } from './geometry.js';

export interface CameraPose {
  tNs: number;
  /** This frame's pixels -> the shot's first picture; null where not known. */
  m: Similarity | null;
}

export type CameraPath = CameraPose[];

/** A still camera: one pose for the whole footage. */
export const STILL_PATH: CameraPath = [{ tNs: 0, m: IDENTITY }];

export function poseAt(path: CameraPath, tNs: number): Similarity | null {
  let lo = 0;
  let hi = path.length - 1;
  if (hi < 0 || tNs < path[0]!.tNs) return IDENTITY;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (path[mid]!.tNs <= tNs) lo = mid;
    else hi = mid - 1;
  }
  return path[lo]!.m;
}

/**
 * Box b, seen in the frame at fromNs, where the camera put it in the frame at toNs (the
 * bounding box of its carried corners), or undefined where either pose is unknown.
 */
export function carry(path: CameraPath, b: Box, fromNs: number, toNs: number): Box | undefined {
  const from = poseAt(path, fromNs);
  const to = poseAt(path, toNs);
  if (!from || !to) return undefined;
  if (from === to) return b;
  const m = compose(invert(to), from);
  const corners = [apply(m, b.x, b.y), apply(m, b.x + b.w, b.y), apply(m, b.x, b.y + b.h), apply(m, b.x + b.w, b.y + b.h)];
  const xs = corners.map((c) => c.x);
  const ys = corners.map((c) => c.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}

/**
 * Builds the path frame by frame during analysis: `scan` takes each scan's estimate (the
 * motion from the picture the estimator keyed on), `frame` every frame between scans.
 */
export class CameraPathBuilder {
  /** The path so far, growing as frames come (what the tracker predicts with). */
  readonly sofar: CameraPath = [];
  /** The pose of the estimator's key picture (the last scan that moved or cut). */
  private keyPose: Similarity = IDENTITY;
  /** The first frame since the last scan that was taken as still without registering it. */
  private assumedStillFromNs: number | undefined;

  scan(tNs: number, state: 'stable' | 'moving' | 'cut', transform: Similarity): void {
    if (state !== 'stable') {
      // The frames since a still scan were taken as still, but the picture moved (or
      // changed) by this one: where it was at each of them nobody knows.
      if (this.assumedStillFromNs !== undefined) this.push(this.assumedStillFromNs, null);
      this.keyPose = state === 'cut' ? IDENTITY : compose(this.keyPose, invert(transform));
    }
    if (this.sofar.at(-1)?.m !== this.keyPose) this.push(tNs, this.keyPose);
    this.assumedStillFromNs = undefined;
  }

  /**
   * A frame between scans: its motion from the key picture where it was registered,
   * null where registering it failed, undefined where it was not tried (the last scan
   * found the camera still).
   */
  frame(tNs: number, fromKey: Similarity | null | undefined): void {
    if (fromKey === undefined) this.assumedStillFromNs ??= tNs;
    else if (fromKey === null) {
      if (this.sofar.at(-1)?.m !== null) this.push(tNs, null);
    } else this.push(tNs, compose(this.keyPose, invert(fromKey)));
  }

  finish(): CameraPath {
    return this.sofar.length ? this.sofar : STILL_PATH;
  }

  private push(tNs: number, m: Similarity | null): void {
    const last = this.sofar.at(-1);
    if (last && last.tNs === tNs) last.m = m;
    else this.sofar.push({ tNs, m });
  }
}
