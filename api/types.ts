/**
 * Types of every request and response of the NetworkSage HTTP API (`API.md`). Objects the
 * platform returns may carry more keys than listed: the index signatures keep them.
 * @module
 */

/** Every JSON answer is this envelope; a call failed when `error` is true or the status is not 200. */
export interface Envelope<T = unknown> {
  /** True when the call failed. */
  error: boolean;
  /** The answer, or the error message. */
  body: T;
}

/** Sample types the uploader accepts. */
export type UploadType = "pcap" | "pcapng" | "zeek" | "secflow";

/** The upload types, in a list (for validation). */
export const UPLOAD_TYPES: readonly UploadType[] = ["pcap", "pcapng", "zeek", "secflow"];

/** One entry of the upload list (endpoint 2). */
export interface UploadEntry {
  /** Name the sample was uploaded under. */
  fileName: string;
  /** True once the platform has processed it. */
  processed: boolean;
  /** Contains `date=YYYY-MM-DDTHH:MM:SS.ffffff/` (UTC upload time). */
  fullS3FilePath: string;
  /** `DD/MM/YYYY HH:MM:SS`. */
  dateCreated: string;
  /** When it was processed (same form as `dateCreated`). */
  dateProcessed?: string;
  /** The upload type. */
  fileType: string;
  /** The sample's private UUID. */
  uuid: string;
  /** Why processing failed (`serve`; the platform may send it too). */
  processingError?: string;
  /** The conversion's warnings, one line each, when there were any (`serve`). */
  warnings?: string[];
  /** Any further key the platform sends. */
  [key: string]: unknown;
}

/** Private sample metadata (endpoint 3). */
export interface SampleMetadata {
  /** The sample's private UUID. */
  id: string;
  /** The sample's hash. */
  hash: string;
  /** Name the sample was uploaded under. */
  fileName: string;
  /** Upload time (`DD/MM/YYYY HH:MM:SS`). */
  dateCreated: string;
  /** `""` until processing is done. */
  trafficDate: string;
  /** Any further key the platform sends. */
  [key: string]: unknown;
}

/** A Secflow as the platform returns it (endpoints 4 and 5); every field is a string. */
export interface PlatformSecflow {
  /** `ip:port`. */
  sourceData: string;
  /** `name:port`. */
  destinationData: string;
  /** Where the destination's name came from. */
  destinationNameSource: string;
  /** Packets sent by the source. */
  sourcePackets: string;
  /** Payload bytes sent by the source. */
  sourceBytes: string;
  /** Packets sent by the destination. */
  destinationPackets: string;
  /** Payload bytes sent by the destination. */
  destinationBytes: string;
  /** Seconds from the sample's start. */
  relativeStart: string;
  /** Seconds from first to last packet. */
  duration: string;
  /** The platform's category of the flow. */
  flowCategory: string;
  /** The flow's identifier (destination and category). */
  flowId: string;
  /** Present when the Secflow is part of an Event. */
  eventId?: string;
  /** Any further key the platform sends. */
  [key: string]: unknown;
}

/** Destination, Behavior or Event metadata (endpoints 7, 8, 9); `{}` when unknown. */
export interface Metadata {
  /** Short title. */
  title?: string;
  /** What it is. */
  description?: string;
  /** How relevant to security it is. */
  relevance?: string;
  /** Tags, as the platform gives them. */
  tags?: unknown;
  /** Any further key the platform sends. */
  [key: string]: unknown;
}

/** One activity of the aggregated view (endpoint 5 and helper 1). */
export interface Activity {
  /** The Secflow. */
  secflow: PlatformSecflow;
  /** What the destination is. */
  destination: Metadata;
  /** What the flow does. */
  behavior: Metadata;
  /** The Event it belongs to, if any. */
  event: Metadata;
  /** How many Secflows of the sample share its flow id. */
  flowIdCount: number;
  /** Any further key the platform sends. */
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
