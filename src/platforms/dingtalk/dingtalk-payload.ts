import { z } from 'zod';

/*
 * zod schemas of what DingTalk sends (spec §2, §5.3). Only the fields the bot reads are checked;
 * the rest pass through untouched.
 */

/** A robot message (Stream TOPIC_ROBOT `data`, or the HTTP callback body). */
export const RobotMessageSchema = z.object({
  msgId: z.string().min(1),
  msgtype: z.string().default('text'),
  conversationId: z.string().default(''),
  /** "1" = one-to-one chat with the bot, "2" = group. */
  conversationType: z.union([z.string(), z.number()]).transform(String),
  senderStaffId: z.string().optional(),
  senderId: z.string().optional(),
  senderNick: z.string().optional(),
  createAt: z.number().optional(),
  text: z.object({ content: z.string().default('') }).optional(),
  content: z
    .object({
      recognition: z.string().optional(),
      richText: z.array(z.object({ text: z.string().optional() }).passthrough()).optional(),
      /** File messages (msgtype file): for /v1.0/robot/messageFiles/download, and the file's name. */
      downloadCode: z.string().optional(),
      fileName: z.string().optional(),
    })
    .passthrough()
    .optional(),
});
export type RobotMessage = z.infer<typeof RobotMessageSchema>;

/** The card callback (Stream TOPIC_CARD `data`). */
export const CardCallbackSchema = z.object({
  outTrackId: z.string().min(1),
  userId: z.string().min(1),
  spaceType: z.string().optional(),
  spaceId: z.string().optional(),
  /** JSON text: {"cardPrivateData": {"actionIds": [...], "params": {...}}} */
  content: z.string().optional(),
  value: z.string().optional(),
});
export type CardCallback = z.infer<typeof CardCallbackSchema>;

export const CardPrivateDataSchema = z.object({
  cardPrivateData: z
    .object({
      actionIds: z.array(z.string()).default([]),
      params: z.record(z.string(), z.unknown()).default({}),
    })
    .default({ actionIds: [], params: {} }),
});
