/**
 * Types of every request and response of the NetworkSage HTTP API (`API.md`). Objects the
 * platform returns may carry more keys than listed: the index signatures keep them.
 * @module
 */

/** Every JSON answer is this envelope; a call failed when `error` is true or the status is not 200. */
export interface Envelope<T = unknown> {
  error: boolean;
  body: T;
}

/** Sample types the uploader accepts. */
export type UploadType = "pcap" | "pcapng" | "zeek" | "secflow";

/** The upload types, in a list (for validation). */
export const UPLOAD_TYPES: readonly UploadType[] = ["pcap", "pcapng", "zeek", "secflow"];

/** One entry of the upload list (endpoint 2). */
export interface UploadEntry {
  fileName: string;
  processed: boolean;
  /** Contains `date=YYYY-MM-DDTHH:MM:SS.ffffff/` (UTC upload time). */
  fullS3FilePath: string;
  /** `DD/MM/YYYY HH:MM:SS`. */
  dateCreated: string;
  dateProcessed?: string;
  fileType: string;
  uuid: string;
  [key: string]: unknown;
}

/** Private sample metadata (endpoint 3). */
export interface SampleMetadata {
  id: string;
  hash: string;
  fileName: string;
  dateCreated: string;
  /** `""` until processing is done. */
  trafficDate: string;
  [key: string]: unknown;
}

/** A Secflow as the platform returns it (endpoints 4 and 5); every field is a string. */
export interface PlatformSecflow {
  /** `ip:port`. */
  sourceData: string;
  /** `name:port`. */
  destinationData: string;
  destinationNameSource: string;
  sourcePackets: string;
  sourceBytes: string;
  destinationPackets: string;
  destinationBytes: string;
  relativeStart: string;
  duration: string;
  flowCategory: string;
  flowId: string;
  /** Present when the Secflow is part of an Event. */
  eventId?: string;
  [key: string]: unknown;
}

/** Destination, Behavior or Event metadata (endpoints 7, 8, 9); `{}` when unknown. */
export interface Metadata {
  title?: string;
  description?: string;
  relevance?: string;
  tags?: unknown;
  [key: string]: unknown;
}

/** One activity of the aggregated view (endpoint 5 and helper 1). */
export interface Activity {
  secflow: PlatformSecflow;
  destination: Metadata;
  behavior: Metadata;
  event: Metadata;
  flowIdCount: number;
  [key: string]: unknown;
}

/** The request of endpoint 1. */
export interface UploadRequest {
  /** Path of the file to upload; it is streamed, never read whole. */
  path: string;
  /** Sample type; detected from the first bytes of the file when absent. */
  type?: UploadType;
  /** Name the sample gets (default: the file's base name). */
  fileName?: string;
  /** For `zeek`: path of the matching `dns.log`, sent as `dns_<fileName>`. */
  dnsLog?: string;
}
