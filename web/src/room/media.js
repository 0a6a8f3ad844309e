// The media seam. Images dropped or pasted into the room are uploaded or
// resolved through hubsd's HTTP API (files and media resolution), which is
// not part of this build; nothing in the page offers it until a media
// backend is available.
//
// A media backend has:
//   available: boolean
//   upload(file: File) -> Promise<{url, file_id, access_token}>   POST to the files API
//   resolve(url: string) -> Promise<{url, content_type}>         the media API
//   spawn(scene, {url, file_id, access_token})   a networked "-media" entity
//                                 (needs spawn_and_move_media; refusals come
//                                 back as RoomErrors like any spawn)
//   pin(session, entity) -> Promise     hubsd.room.pin with the entity's glTF
//                                 and file_id (needs pin_objects)

/** The backend used while the server offers no media API. */
export const noMedia = { available: false };
