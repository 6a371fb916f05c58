/* inode_table.c: placeholder until the room is built. */
