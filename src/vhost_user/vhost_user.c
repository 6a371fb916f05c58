/* vhost_user.c: placeholder until the room is built. */
